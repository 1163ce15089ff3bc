from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "primepre.imports"
    label = "imports"
    verbose_name = "Imports"
