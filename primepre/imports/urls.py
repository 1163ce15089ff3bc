from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.import_history, name="history"),
    path("new/", views.import_upload, name="upload"),
    path("<int:pk>/", views.import_detail, name="detail"),
]
