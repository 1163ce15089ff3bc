"""Background entry point: drain the outbox. Queueing enqueues it; a drain that leaves retries behind enqueues
itself again for when the first retry is due."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from .models import SmsMessage, SmsStatus


@task()
def drain_outbox() -> dict[str, int]:
    from .services import drain

    counts = drain()
    pending = SmsMessage.objects.filter(status=SmsStatus.QUEUED).order_by("next_attempt_at").first()
    if pending is not None:
        run_after = pending.next_attempt_at or timezone.now()
        drain_outbox.using(run_after=run_after).enqueue()
    return counts
