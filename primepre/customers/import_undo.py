"""Undo of a customer import: delete the customers it created and restore the fields it changed, leaving alone every
customer someone edited since (listed in the result instead). Runs inside `imports.undo.undo_job`'s transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import CASCADE, PROTECT, RESTRICT, SET_NULL, F, ForeignObjectRel, QuerySet
from django.utils.dateparse import parse_datetime

from primepre.imports.models import ImportChange, ImportJob

from .models import Customer


def _kept(customer: Customer, reason: str) -> dict[str, Any]:
    return {"id": customer.pk, "shipping_mark": customer.shipping_mark, "reason": reason}


def _references() -> list[ForeignObjectRel]:
    """Every foreign key to Customer, from any app (goods, SMS, the import's own change records)."""
    return [
        field
        for field in Customer._meta.get_fields(include_hidden=True)
        if isinstance(field, ForeignObjectRel) and field.one_to_many
    ]


def _delete_untouched(job: ImportJob, untouched: QuerySet, result: Any) -> int:
    """Delete the job's untouched customers in one DELETE (the ORM's delete() would load every row to run its
    collector), doing for each foreign key what its `on_delete` says: a customer something PROTECTs (goods received
    for them) is kept and listed, SET_NULL references are cleared, CASCADE ones deleted first."""
    table = Customer._meta.db_table
    protected = [rel for rel in _references() if rel.on_delete in (PROTECT, RESTRICT)]
    guards = "".join(
        f" AND NOT EXISTS (SELECT 1 FROM {rel.related_model._meta.db_table} r WHERE r.{rel.field.column} = {table}.id)"  # noqa: S608 - our names
        for rel in protected
    )
    for rel in protected:
        held = untouched.filter(pk__in=rel.related_model.objects.values(rel.field.attname))
        for customer in held.only("pk", "shipping_mark").iterator():
            result.kept.append(_kept(customer, f"has {rel.related_model._meta.verbose_name_plural}"))
    for rel in protected:
        untouched = untouched.exclude(pk__in=rel.related_model.objects.values(rel.field.attname))
    for rel in _references():
        referencing = rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": untouched.values("pk")})
        if rel.on_delete is SET_NULL:
            referencing.update(**{rel.field.name: None})
        elif rel.on_delete is CASCADE:
            referencing.delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE import_job_id = %s AND updated_at = created_at{guards}",  # noqa: S608 - our names
            [job.pk],
        )
        return cursor.rowcount


def undo_customer_import(job: ImportJob, result: Any) -> None:
    created = Customer.objects.filter(import_job_id=job.pk)
    for customer in created.exclude(updated_at=F("created_at")).only("pk", "shipping_mark").iterator():
        result.kept.append(_kept(customer, "edited since the import"))
    result.deleted = _delete_untouched(job, created.filter(updated_at=F("created_at")), result)
    _restore_changed(job, result)


def _restore_changed(job: ImportJob, result: Any) -> None:
    """Each customer an upsert changed gets its before-values back, unless someone edited it since."""
    changes = ImportChange.objects.filter(job=job, after_updated_at__isnull=False).order_by("-row_number")
    for chunk in _chunks(changes.iterator(chunk_size=1000), 1000):
        customers = Customer.objects.in_bulk([change.record_id for change in chunk])
        for change in chunk:
            if change.record_id in customers:  # one deleted since has nothing to restore
                _restore_one(customers[change.record_id], change, result)


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _restore_one(customer: Customer, change: ImportChange, result: Any) -> None:
    if customer.updated_at != change.after_updated_at:
        result.kept.append(_kept(customer, "edited since the import"))
        return
    before = dict(change.before)
    before_updated_at = parse_datetime(before.pop("updated_at"))
    try:
        with transaction.atomic():
            Customer.objects.filter(pk=customer.pk).update(**before, updated_at=before_updated_at)
        result.restored += 1
    except IntegrityError:
        result.kept.append(_kept(customer, "its old phone, mark or email now belongs to another customer"))
