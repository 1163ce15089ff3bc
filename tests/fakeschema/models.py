"""A kind of record that exists only in the tests: a parcel with a code and a label (#25's fake third schema)."""

from django.db import models

from primepre.imports.models import ImportedRecord


class Parcel(ImportedRecord):
    code = models.CharField(max_length=20)
    label = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code"], name="fake_parcel_code_unique")]
        permissions = [("import_parcels", "Can import parcel sheets")]

    def __str__(self) -> str:
        return self.code
