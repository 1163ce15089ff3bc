from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularJSONAPIView,
    SpectacularSwaggerSplitView,
    SpectacularYAMLAPIView,
)
from rest_framework.routers import DefaultRouter

from primepre.accounts.api import RevokeAllTokensView, RevokeTokenView, TokenView
from primepre.common.api import ApiRoot
from primepre.common.permissions import CanReadApiDocs, docs_login_required
from primepre.customers.api import CustomerViewSet
from primepre.goods.api import GoodsReceiptViewSet, UnknownMarkViewSet
from primepre.imports.api import ImportJobViewSet, errors_csv_view, errors_xlsx_view, template_view
from primepre.shipments.api import ConsignmentViewSet, ShipmentViewSet, loading_list_csv_view, loading_list_xlsx_view
from primepre.sms.api import SmsViewSet
from primepre.sms.views import twilio_status_callback

from . import health

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("imports", ImportJobViewSet, basename="import")
router.register("sms", SmsViewSet, basename="sms")
router.register("goods/unknown-marks", UnknownMarkViewSet, basename="goods-unknown-mark")
router.register("goods", GoodsReceiptViewSet, basename="goods")
router.register("shipments", ShipmentViewSet, basename="shipment")
router.register("consignments", ConsignmentViewSet, basename="consignment")

admin.site.site_header = "PrimePre back office"
admin.site.site_title = "PrimePre"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", ApiRoot.as_view(), name="api-root"),
    path("api/v1/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/v1/auth/token/revoke/", RevokeTokenView.as_view(), name="api-token-revoke"),
    path("api/v1/auth/token/revoke-all/", RevokeAllTokensView.as_view(), name="api-token-revoke-all"),
    path("api/v1/imports/template.xlsx", template_view, name="import-template"),
    path("api/v1/imports/<int:pk>/errors.xlsx", errors_xlsx_view, name="import-errors-xlsx"),
    path("api/v1/imports/<int:pk>/errors.csv", errors_csv_view, name="import-errors-csv"),
    path("api/v1/shipments/<int:pk>/loading-list.xlsx", loading_list_xlsx_view, name="shipment-loading-list-xlsx"),
    path("api/v1/shipments/<int:pk>/loading-list.csv", loading_list_csv_view, name="shipment-loading-list-csv"),
    path("api/v1/sms/twilio/status/", twilio_status_callback, name="sms-twilio-status"),
    path("api/v1/", include(router.urls)),
    # JSON first (YAML on request): a refusal (401/403) is then a JSON error like every other API answer.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            permission_classes=[CanReadApiDocs],
            renderer_classes=[*SpectacularJSONAPIView.renderer_classes, *SpectacularYAMLAPIView.renderer_classes],
        ),
        name="api-schema",
    ),
    # Swagger UI with its start-up script as a file (the split view), so the page needs no inline script; its own
    # inline <style> and data: images are allowed on this page only.
    path(
        "api/docs/",
        docs_login_required(
            csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
                SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[CanReadApiDocs])
            )
        ),
        name="api-docs",
    ),
    # Each app serves its own pages; web/ is the shell (dashboard, sign-in).
    path("customers/", include("primepre.customers.urls")),
    path("imports/", include("primepre.imports.urls")),
    path("sms/", include("primepre.sms.urls")),
    path("goods/", include("primepre.goods.urls")),
    path("shipments/", include("primepre.shipments.urls")),
    path("", include("primepre.web.urls")),
]

handler400 = "config.errors.bad_request"  # too many files, a file name too long …: JSON under /api/
handler500 = "config.errors.server_error"
handler404 = "config.errors.not_found"
handler403 = "config.errors.permission_denied"  # the reason in words, in the app's page
