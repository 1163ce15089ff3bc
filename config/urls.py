from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from primepre.common.api import ApiRoot
from primepre.customers.api import CustomerViewSet
from primepre.imports.api import ImportJobViewSet, errors_csv_view, errors_xlsx_view, template_view
from primepre.sms.api import SmsViewSet
from primepre.sms.views import twilio_status_callback

from . import health

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("imports", ImportJobViewSet, basename="import")
router.register("sms", SmsViewSet, basename="sms")

admin.site.site_header = "PrimePre back office"
admin.site.site_title = "PrimePre"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", ApiRoot.as_view(), name="api-root"),
    path("api/v1/auth/token/", obtain_auth_token, name="api-token"),
    path("api/v1/imports/template.xlsx", template_view, name="import-template"),
    path("api/v1/imports/<int:pk>/errors.xlsx", errors_xlsx_view, name="import-errors-xlsx"),
    path("api/v1/imports/<int:pk>/errors.csv", errors_csv_view, name="import-errors-csv"),
    path("api/v1/sms/twilio/status/", twilio_status_callback, name="sms-twilio-status"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("primepre.web.urls")),
]

handler500 = "config.errors.server_error"
handler404 = "config.errors.not_found"
