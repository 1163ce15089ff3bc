from django.apps import AppConfig


class ShipmentsConfig(AppConfig):
    name = "primepre.shipments"
    label = "shipments"
    verbose_name = "Shipments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from primepre.imports.schema import register

        from .equipment import equipment_table
        from .import_schema import LoadingListSchema

        equipment_table()  # a malformed SHIPMENT_EQUIPMENT stops the process at start, not at the first shipment
        register(LoadingListSchema())
