"""Files built to hurt the import (security issue #11): deep JSON, 100,000 columns, cells scattered far apart, files
that outgrow the memory budget. Each ends as a quick file-level failure with a stable code, and what the job stores is
bounded whatever the file held."""

from __future__ import annotations

import datetime as dt
import io
import json
import resource
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import xlsxwriter
from django.core.management import call_command
from django.utils import timezone

from primepre.imports import jobs, readers
from primepre.imports.jobs import create_job
from primepre.imports.ledger import STORED_CELL_MAX_CHARS
from primepre.imports.models import ImportJob, ImportStatus
from primepre.imports.process import rss_bytes
from primepre.imports.readers import CSV_MAX_DELIMITERS, _scan_csv, open_rows
from primepre.imports.services import execute_job, store_file
from primepre.imports.tasks import recover_stalled_jobs

from .helpers import FILES, HEADER, run_import, write_csv, write_xlsx

pytestmark = pytest.mark.django_db
DEEP = 100_000


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    """Wall time and the peak growth of this process's RSS (sampled every 5 ms) while the block runs."""
    result = {"seconds": 0.0, "peak_mb": 0.0}
    base = rss_bytes()
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            result["peak_mb"] = max(result["peak_mb"], (rss_bytes() - base) / 2**20)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - started
        done.set()
        sampler.join()


def _failed(job: ImportJob, code: str) -> str:
    job.refresh_from_db()
    assert (job.status, job.error_code) == (ImportStatus.FAILED, code), job.error_message
    assert job.rows_read == 0 and not job.row_errors.exists()
    return job.error_message


# --- JSON nesting ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"customers":' + "[" * DEEP + "]" * DEEP + "}", "unsupported_format"),  # the review's file
        ("[" * DEEP + "]" * DEEP, "unsupported_format"),
        ('[{"Phone": ' + "[" * DEEP + "]" * DEEP + "}]", "too_deeply_nested"),
        ('{"other": ' + "[" * DEEP + "]" * DEEP + ', "customers": []}', "too_deeply_nested"),
    ],
)
def test_deeply_nested_json_fails_in_linear_time(tmp_path: Path, text: str, code: str) -> None:
    path = tmp_path / "nested.json"
    path.write_text(text)
    with measured() as cost:
        job = run_import(path)
    message = _failed(job, code)
    assert cost["seconds"] < 1.0 and cost["peak_mb"] < 150, cost
    if code == "too_deeply_nested":
        assert "nested more than 4 levels deep" in message


def test_json_within_the_depth_still_imports(tmp_path: Path) -> None:
    rows = json.loads((FILES / "basic_customers.json").read_text())
    rows["customers"][0]["Tags"] = ["vip", "gold"]  # a cell holding a list: 4 levels, kept as text
    rows["meta"] = {"source": "old frontend"}
    path = tmp_path / "customers.json"
    path.write_text(json.dumps(rows))
    job = run_import(path)
    assert job.status == "succeeded", job.error_message
    assert (job.rows_read, job.created, job.failed) == (6, 4, 2)
    assert "Tags" in job.unknown_columns


@pytest.mark.parametrize("text", ['{"customers": {"a": 1}}', '{"mode": "upsert"}', '[{"a": 1}, 2]'])
def test_json_of_the_wrong_shape(tmp_path: Path, text: str) -> None:
    path = tmp_path / "shape.json"
    path.write_text(text)
    _failed(run_import(path), "unsupported_format")


# --- columns ------------------------------------------------------------------------------------------------------


def test_a_csv_with_100000_header_cells_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(DEEP)) + "\n" + ",".join("x" for _ in range(DEEP)) + "\n")
    with measured() as cost:
        job = run_import(path)
    assert "Row 1 has more than 16,384 columns" in _failed(job, "too_many_columns")
    assert cost["seconds"] < 1.0, cost
    assert job.column_mapping == {} and job.unknown_columns == []


def test_a_record_joined_across_short_lines_by_quotes_is_still_counted(tmp_path: Path) -> None:
    """Each line is short, but every line closes one quoted cell and opens the next: one record of 30,000 cells."""
    path = tmp_path / "joined.csv"
    path.write_text(
        ",".join(HEADER) + '\nPM4 KOFI,Kofi,Mensah,"\n' + "".join('",' + "," * 1_000 + '"\n' for _ in range(30)) + '"\n'
    )
    assert "has more than 16,384 columns" in _failed(run_import(path), "too_many_columns")


def test_the_scan_says_when_records_need_their_delimiters_counted(tmp_path: Path) -> None:
    """Only a quote (which can join lines into a record) or a line as long as the limit needs the per-line count;
    a long line is found across the scan's 1 MB chunks too."""
    plain = tmp_path / "plain.csv"
    plain.write_text("Mark,Name\n" + "PM1,Kofi\n" * 1000)
    assert _scan_csv(plain).needs_guard is False
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('Mark,Name\nPM1,"Mensah, Kofi"\n')
    assert _scan_csv(quoted).needs_guard is True
    straddling = tmp_path / "straddling.csv"
    short = "PM1,Kofi\n" * ((1 << 20) // 9)  # ends a few bytes before the first chunk's end
    straddling.write_text(short + "," * (CSV_MAX_DELIMITERS + 10) + "\nPM2,Ama\n")
    assert _scan_csv(straddling).needs_guard is True
    assert _scan_csv(straddling).lines == short.count("\n") + 2


def _wide_header(count: int) -> list[str]:
    return [*HEADER, *(f"Extra {i}" for i in range(count - len(HEADER)))]


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "xlsx-stream", "json"])
def test_every_format_refuses_more_columns_than_the_limit(tmp_path: Path, settings, file_format: str) -> None:
    settings.IMPORT_MAX_COLUMNS = 20
    header = _wide_header(21)
    row = ["PM4 KOFI", "Kofi", "Mensah", "0241234567", "", "", "", *("x" * 14)]
    if file_format == "json":
        path = tmp_path / "wide.json"
        path.write_text(json.dumps([dict(zip(header, row, strict=True))]))
    elif file_format == "csv":
        path = write_csv(tmp_path / "wide.csv", header, [row])
    else:
        path = write_xlsx(tmp_path / "wide.xlsx", header, [row])
        if file_format == "xlsx-stream":
            settings.IMPORT_STREAMING_THRESHOLD_BYTES = 0
    message = _failed(run_import(path), "too_many_columns")
    assert "at most 20 columns" in message


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "xlsx-stream"])
def test_a_wide_row_in_the_middle_names_its_row(tmp_path: Path, settings, file_format: str) -> None:
    settings.IMPORT_MAX_COLUMNS = 20
    rows = [["PM4 KOFI", "Kofi", "Mensah", "0241234567"], ["PM5 AMA", "Ama", "Owusu", "0241234568", *("y" * 30)]]
    if file_format == "csv":
        path = write_csv(tmp_path / "wide.csv", HEADER, rows)
    else:
        path = write_xlsx(tmp_path / "wide.xlsx", HEADER, rows)
        settings.IMPORT_STREAMING_THRESHOLD_BYTES = 0 if file_format == "xlsx-stream" else 1 << 30
    job = run_import(path)
    job.refresh_from_db()
    assert job.error_code == "too_many_columns"
    assert "Row 3 has" in job.error_message


def test_blank_cells_past_the_limit_cost_nothing(tmp_path: Path, settings) -> None:
    settings.IMPORT_MAX_COLUMNS = 10
    path = tmp_path / "padded.csv"
    lines = [",".join(HEADER) + "," * 500, "PM4 KOFI,Kofi,Mensah,0241234567,,," + "," * 500]
    path.write_text("\n".join(lines) + "\n")
    job = run_import(path)
    assert job.status == "succeeded", job.error_message
    assert job.created == 1 and len(job.column_mapping["headers"]) == 10


def test_an_xlsx_whose_cells_lie_far_apart_is_not_given_to_calamine(tmp_path: Path) -> None:
    """calamine allocates a sheet's whole range, rows x columns, used or not: a few KB naming cell XFD1048576 asks it
    for tens of GB. Such a sheet goes to the streaming reader, which only builds the rows that are there."""
    path = tmp_path / "far.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Customers")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ["PM4 KOFI", "Kofi", "Mensah", "0241234567"])
    sheet.write(199_999, 0, "PM5 AMA")  # 200,000 rows x 26 columns: more than calamine is given
    workbook.close()
    assert path.stat().st_size < 10_000
    table = open_rows(path)
    assert table.reader == "xlsx-stream"
    table.close()
    assert open_rows(FILES / "basic.xlsx").reader == "calamine"  # ordinary sheets keep the fast reader


def test_a_far_column_in_a_small_file_fails_quickly(tmp_path: Path) -> None:
    path = tmp_path / "far.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Customers")
    sheet.write_row(0, 0, HEADER)
    sheet.write(1, 0, "PM1")
    sheet.write(20_000, 16_383, "x")  # the review's shape: calamine took 35 s and 10 GB for these 5 KB
    workbook.close()
    with measured() as cost:
        job = run_import(path)
    assert "Row 20001 has a value past column 200" in _failed(job, "too_many_columns")
    assert cost["seconds"] < 2.0 and cost["peak_mb"] < 150, cost


@pytest.mark.parametrize(
    "reference",
    [b"XFD1048576", b"AA200000", b"A5000000", b"&#88;FD1", b"A1 "],
)
def test_the_extent_scan_sends_far_or_odd_references_to_the_streaming_reader(tmp_path: Path, reference: bytes) -> None:
    body = b'<worksheet><sheetData><row r="1"><c r="' + reference + b'"><v>1</v></c></row></sheetData></worksheet>'
    far = tmp_path / "far.xlsx"
    with zipfile.ZipFile(far, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b'<?xml version="1.0"?>' + body)
    assert not readers._compact_for_calamine(far)
    near = tmp_path / "near.xlsx"
    with zipfile.ZipFile(near, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", body.replace(b' r="' + reference, b' r="Z99999'))
    assert readers._compact_for_calamine(near)


def test_a_damaged_sheet_part_is_still_a_corrupt_file(tmp_path: Path) -> None:
    """The extent scan reads the sheet before any reader does: damage it finds is the reader's to report."""
    path = tmp_path / "damaged.xlsx"
    path.write_bytes((FILES / "basic.xlsx").read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 10
    data = bytearray(path.read_bytes())
    data[start : start + 20] = bytes(byte ^ 0x5A for byte in data[start : start + 20])
    path.write_bytes(bytes(data))
    assert "could not be read" in _failed(run_import(path), "corrupt_file")


def test_what_a_job_stores_is_bounded(tmp_path: Path) -> None:
    long_header = "Notes " + "n" * 5_000
    long_cell = "z" * 50_000
    path = write_csv(
        tmp_path / "long.csv",
        [*HEADER, long_header],
        [["PM4 KOFI", "Kofi", "", "0241234567", "", "", "", long_cell]],  # fails: no last name
    )
    job = run_import(path)
    assert job.status == "succeeded" and job.failed == 1
    assert max(len(header) for header in job.column_mapping["headers"]) <= 100
    assert all(len(header) <= 100 for header in job.unknown_columns)
    stored = job.row_errors.get().values
    assert max(len(value) for value in stored) == STORED_CELL_MAX_CHARS and stored[-1].endswith("…")


# --- memory -------------------------------------------------------------------------------------------------------


def test_an_import_over_the_memory_budget_fails_cleanly(settings, monkeypatch) -> None:
    settings.IMPORT_MAX_RSS_MB = 1
    readings = iter(range(0, 1 << 40, 1 << 20))  # the process grows by 1 MB between every two readings
    monkeypatch.setattr("primepre.imports.process.rss_bytes", lambda: 100 * 2**20 + next(readings))
    job = run_import(FILES / "basic.xlsx")
    job.refresh_from_db()
    assert (job.status, job.error_code) == (ImportStatus.FAILED, "memory_limit")
    assert "more than 1 MB of memory" in job.error_message
    settings.IMPORT_MAX_RSS_MB = 1000
    assert run_import(FILES / "basic.xlsx").status == "succeeded"  # the same growth within a larger budget


def test_a_memory_error_fails_the_job_and_leaves_the_process_working(monkeypatch) -> None:
    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr("primepre.imports.pipeline.open_rows", exhausted)
    job = run_import(FILES / "basic.xlsx")  # returns: the worker goes on to its next job
    job.refresh_from_db()
    assert (job.status, job.error_code) == (ImportStatus.FAILED, "memory_limit")
    monkeypatch.undo()
    assert run_import(FILES / "basic.xlsx").status == "succeeded"


# --- attempts -----------------------------------------------------------------------------------------------------


def test_every_run_counts_as_an_attempt() -> None:
    job = create_job(store_file(FILES / "basic.xlsx"), file_name="basic.xlsx")
    execute_job(job)
    job.refresh_from_db()
    assert job.attempts == 1


def _stalled_job(attempts: int, wrote: bool = True) -> ImportJob:
    """A job whose run went silent an hour ago: after writing a batch (`wrote`), or while still reading its file."""
    job = create_job(store_file(FILES / "basic.xlsx"), file_name="basic.xlsx")
    long_ago = timezone.now() - dt.timedelta(hours=1)
    claimed = long_ago - dt.timedelta(seconds=5) if wrote else long_ago
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        attempts=attempts,
        heartbeat_at=long_ago,
        started_at=claimed,
        claimed_at=claimed,
        worker_token="t",
    )
    return job


def test_the_sweep_requeues_a_stalled_job_with_attempts_left(settings) -> None:
    settings.IMPORT_MAX_ATTEMPTS = 3
    job = _stalled_job(attempts=2)
    assert recover_stalled_jobs() == [job.pk]
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED and job.attempts == 3  # the immediate backend ran it again


def test_the_sweep_ends_a_job_that_crashed_its_worker_every_time(settings) -> None:
    settings.IMPORT_MAX_ATTEMPTS = 3
    job = _stalled_job(attempts=3)
    assert recover_stalled_jobs() == []
    job.refresh_from_db()
    assert (job.status, job.error_code, job.worker_token) == (ImportStatus.FAILED, "worker_crashed", "")
    assert "3 times" in job.error_message and job.finished_at is not None
    assert recover_stalled_jobs() == []  # ended once; a second sweep finds nothing


def test_the_sweep_ends_at_once_a_job_whose_worker_died_reading_its_file(settings) -> None:
    """Dying before the first batch was written is the file's doing (a reader that aborts): not tried again."""
    settings.IMPORT_MAX_ATTEMPTS = 3
    job = _stalled_job(attempts=1, wrote=False)
    assert recover_stalled_jobs() == []
    job.refresh_from_db()
    assert (job.status, job.error_code, job.worker_token, job.attempts) == (
        ImportStatus.FAILED,
        "unreadable_file",
        "",
        1,
    )
    assert "“basic.xlsx”" in job.error_message and "not tried again" in job.error_message
    assert recover_stalled_jobs() == []


def test_a_resumed_job_that_died_before_its_first_new_batch_is_retried_not_failed(settings) -> None:
    """A run got past the file's opening before (a checkpoint): dying while re-reading up to it is not the file's."""
    settings.IMPORT_MAX_ATTEMPTS = 3
    job = _stalled_job(attempts=1, wrote=False)
    ImportJob.objects.filter(pk=job.pk).update(checkpoint_row=2)
    assert recover_stalled_jobs() == [job.pk]


def test_a_job_from_before_claims_were_timed_is_requeued_as_before(settings) -> None:
    settings.IMPORT_MAX_ATTEMPTS = 3
    job = _stalled_job(attempts=1)
    ImportJob.objects.filter(pk=job.pk).update(claimed_at=None)
    assert recover_stalled_jobs() == [job.pk]


def test_a_dead_child_s_job_ends_by_what_it_was_doing(settings) -> None:
    """`jobs.child_died`: reading → unreadable_file; writing with runs left → queued; none left → worker_crashed;
    another run's lease → nothing."""
    settings.IMPORT_MAX_ATTEMPTS = 2
    reading, writing, last, other = (_stalled_job(1, wrote=False), _stalled_job(1), _stalled_job(2), _stalled_job(1))
    assert jobs.child_died(reading.pk, "t", "the process reading it was ended by SIGABRT") == "unreadable"
    assert jobs.child_died(writing.pk, "t", "x") == "requeued"
    assert jobs.child_died(last.pk, "t", "x") == "failed"
    assert jobs.child_died(other.pk, "not-its-lease", "x") == ""
    reading.refresh_from_db()
    assert (reading.status, reading.error_code) == (ImportStatus.FAILED, "unreadable_file")
    assert "SIGABRT" in reading.error_message
    assert ImportJob.objects.get(pk=writing.pk).status == ImportStatus.QUEUED
    assert ImportJob.objects.get(pk=last.pk).error_code == "worker_crashed"
    assert ImportJob.objects.get(pk=other.pk).status == ImportStatus.RUNNING


def test_a_job_whose_child_died_before_claiming_it_can_be_resumed() -> None:
    job = create_job(store_file(FILES / "basic.xlsx"), file_name="basic.xlsx")
    assert jobs.not_started(job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (ImportStatus.FAILED, "internal_error")
    assert jobs.claim(job)  # CLAIMABLE: a resume takes it
    assert not jobs.not_started(job.pk)  # running now: left alone


def test_the_cli_called_in_process_leaves_the_process_limits_alone() -> None:
    """Only `manage.py import_customers` / `import_worker` as a process of their own set RLIMIT_DATA: code calling
    the command (tests, an admin action) keeps its limits, or a later, bigger spreadsheet would abort it."""
    before = resource.getrlimit(resource.RLIMIT_DATA)
    call_command("import_customers", str(FILES / "basic.xlsx"), "--json", stdout=io.StringIO())
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
