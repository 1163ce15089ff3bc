from django.apps import AppConfig


class GoodsConfig(AppConfig):
    name = "primepre.goods"
    label = "goods"
    verbose_name = "Goods received"

    def ready(self) -> None:
        from primepre.imports.schema import register

        from .import_schema import GoodsSchema
        from .warehouses import warehouses

        warehouses()  # a malformed GOODS_WAREHOUSES stops the process at start, not at the first receipt
        register(GoodsSchema())
