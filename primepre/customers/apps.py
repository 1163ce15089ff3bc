from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "primepre.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from primepre.imports.schema import register

        from .import_schema import CustomerSchema

        register(CustomerSchema())
