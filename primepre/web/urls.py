from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/export.csv", views.customer_export, {"file_format": "csv"}, name="customer-export-csv"),
    path("imports/", views.import_history, name="import-history"),
    path("imports/new/", views.import_upload, name="import-upload"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("sms/", views.sms_page, name="sms"),
    path("sms/send/", views.sms_send, name="sms-send"),
    path("customers/export.xlsx", views.customer_export, {"file_format": "xlsx"}, name="customer-export-xlsx"),
]
