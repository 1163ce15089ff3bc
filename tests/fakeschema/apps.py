from django.apps import AppConfig


class FakeSchemaConfig(AppConfig):
    name = "tests.fakeschema"
    label = "fakeschema"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from primepre.imports.schema import register

        from .schema import ParcelSchema

        register(ParcelSchema())
