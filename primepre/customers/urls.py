from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("export.csv", views.customer_export, {"file_format": "csv"}, name="export-csv"),
    path("export.xlsx", views.customer_export, {"file_format": "xlsx"}, name="export-xlsx"),
]
