from django.urls import path

from . import views

app_name = "goods"
urlpatterns = [
    path("", views.goods_list, name="list"),
    path("export.csv", views.goods_export, name="export-csv"),
    path("<int:pk>/", views.receipt_detail, name="receipt"),
    path("unknown-marks/", views.unknown_mark_queue, name="unknown-marks"),
    path("unknown-marks/<str:mark_key>/", views.unknown_mark_page, name="unknown-mark"),
    path("unknown-marks/<str:mark_key>/resolve/", views.resolve_mark, name="resolve"),
]
