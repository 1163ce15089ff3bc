from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "primepre.web"
    label = "web"
    verbose_name = "Staff web UI"
