import logging

from django.apps import AppConfig

logger = logging.getLogger("primepre.sms")


class SmsConfig(AppConfig):
    name = "primepre.sms"
    label = "sms"
    verbose_name = "SMS"

    def ready(self) -> None:
        from .backends import get_backend

        backend = get_backend()
        if not backend.enabled:
            # Once per process start: SMS is off, and nothing else fails because of it.
            logger.warning("[SMS-DISABLED] backend=%s reason=%s", backend.name, backend.reason)
