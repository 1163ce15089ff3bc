from django.urls import path

from . import views

app_name = "shipments"
urlpatterns = [
    path("", views.shipment_list, name="list"),
    path("new/", views.shipment_create, name="create"),
    path("waiting/", views.waiting_goods, name="waiting"),
    path("waiting/load/", views.load, name="load"),
    path("<int:pk>/", views.shipment_detail, name="detail"),
]
