"""A batch's failing rows are stored as the ORM stores them, whichever statement writes them."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from primepre.imports.ledger import ErrorRecord, _insert_row_errors
from primepre.imports.models import ImportRowError

from .helpers import HEADER, run_import, write_csv

pytestmark = pytest.mark.django_db


def test_failing_rows_round_trip_and_are_stored_as_django_stores_json(tmp_path) -> None:
    job = run_import(write_csv(tmp_path / "one.csv", HEADER, [["PM1", "Ama", "Owusu", "0241234567", "", "", ""]]))
    records = [
        ErrorRecord(7, [{"column": "Téléphone", "field": "phone", "code": "invalid_phone", "message": "«0» no"}],
                    ["PM 7", "Ésí", None, 12.5, True, "a\"b\\c\n", "日本"]),
        ErrorRecord(9, [{"column": "Email", "field": "email", "code": "invalid_email", "message": "x"}], []),
    ]  # fmt: skip
    _insert_row_errors(job.pk, records)
    stored = {row.row_number: (row.errors, row.values) for row in ImportRowError.objects.filter(job=job)}
    assert stored == {record.row_number: (record.errors, record.values) for record in records}
    if connection.vendor == "sqlite":  # the text the review's filter by kind of error matches on
        with connection.cursor() as cursor:
            cursor.execute('SELECT errors, "values" FROM imports_importrowerror WHERE job_id = %s AND row_number = 7',
                           [job.pk])  # fmt: skip
            assert cursor.fetchone() == (json.dumps(records[0].errors), json.dumps(records[0].values))
