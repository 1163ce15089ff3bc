from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "primepre.customers"
    label = "customers"
    verbose_name = "Customers"
