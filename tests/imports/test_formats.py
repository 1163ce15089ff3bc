"""Every supported format and encoding imports the same customers, with Excel's row numbers in its errors."""

from __future__ import annotations

import pytest

from primepre.customers.models import Customer
from primepre.imports.errors import ImportFileError
from primepre.imports.readers import detect_format, open_rows
from primepre.imports.services import store_file

from .helpers import FILES, assert_reconciles, errors_by_row, run_import

pytestmark = pytest.mark.django_db

BASIC_CUSTOMERS = {
    ("pm4kofi", "Kofi", "Mensah", "+233241234567", "kofi@example.com", "AA", "Kente Ltd"),
    ("pm5ama", "Ama", "Owusu", "+233241234568", None, "AH", ""),
    ("pm6yaw", "Yaw", "Boateng", "+233201234567", "yaw@example.com", "TV", ""),
    ("pm7efua", "Éfua", "Asante-Nkrumah", "+233501234567", None, "", "Asante & Sons"),
}
BASIC_ERRORS = {
    6: {("last_name", "required")},
    7: {("phone", "invalid_phone"), ("email", "invalid_email"), ("region", "invalid_region")},
}


def _customers() -> set[tuple]:
    return set(
        Customer.objects.values_list("mark_key", "first_name", "last_name", "phone", "email", "region", "company_name")
    )


@pytest.mark.parametrize(
    ("name", "file_format"),
    [
        ("basic.xlsx", "xlsx"),
        ("basic.xlsm", "xlsm"),
        ("basic.xls", "xls"),
        ("basic.xlsb", "xlsb"),
        ("basic.ods", "ods"),
        ("padded.ods", "ods"),
        ("padded.xlsx", "xlsx"),
        ("basic_utf8.csv", "csv"),
        ("basic_utf8_bom.csv", "csv"),
        ("basic_utf16.tsv", "csv"),
        ("basic_cp1252.csv", "csv"),
        ("basic_semicolon.csv", "csv"),
        ("basic.tsv", "csv"),
        ("multi_sheet.xlsx", "xlsx"),
        ("multi_sheet.ods", "ods"),
    ],
)
def test_every_format_gives_the_same_customers_and_errors(name: str, file_format: str) -> None:
    assert detect_format(FILES / name) == file_format
    job = run_import(FILES / name)
    assert job.status == "succeeded", job.error_message
    assert job.file_format == file_format
    assert (job.rows_read, job.created, job.failed) == (6, 4, 2)
    assert _customers() == BASIC_CUSTOMERS
    assert errors_by_row(job) == BASIC_ERRORS
    assert_reconciles(job)


@pytest.mark.parametrize("name", ["basic_array.json", "basic_customers.json"])
def test_json_arrays_and_the_old_frontends_payload(name: str) -> None:
    job = run_import(FILES / name)
    assert job.status == "succeeded", job.error_message
    assert (job.rows_read, job.created, job.failed) == (6, 4, 2)
    assert _customers() == BASIC_CUSTOMERS
    assert errors_by_row(job) == {5: BASIC_ERRORS[6], 6: BASIC_ERRORS[7]}  # JSON rows are item numbers


def test_the_error_names_the_column_as_the_file_calls_it() -> None:
    job = run_import(FILES / "basic.xlsx")
    (error,) = job.row_errors.get(row_number=6).errors
    assert error == {
        "column": "Last Name",
        "field": "last_name",
        "code": "required",
        "message": "Last name is missing.",
    }
    assert job.row_errors.get(row_number=6).values == ["PM8 KWAME", "Kwame", "", "", "0551234567", "Volta", ""]


def test_a_named_sheet() -> None:
    job = run_import(FILES / "multi_sheet.xlsx", sheet="Other")
    assert (job.status, job.sheet_name, job.created) == ("succeeded", "Other", 1)
    assert Customer.objects.get().shipping_mark == "PM10 ABENA"


def test_an_unknown_sheet_is_a_clear_file_error() -> None:
    job = run_import(FILES / "multi_sheet.xlsx", sheet="Clients")
    assert job.status == "failed"
    assert job.error_code == "unknown_sheet"
    assert "Notes, Customers, Other" in job.error_message
    assert not Customer.objects.exists()


def test_the_hidden_first_sheet_is_skipped_by_default() -> None:
    assert open_rows(FILES / "multi_sheet.xlsx").sheet_name == "Customers"


def test_the_old_template_without_a_header() -> None:
    job = run_import(FILES / "template_no_header.xlsx")
    assert (job.status, job.header_row, job.created, job.failed) == ("succeeded", None, 3, 0)
    assert set(Customer.objects.values_list("shipping_mark", "phone", "email")) == {
        ("PM11 KOJO", "+233241111111", "kojo@example.com"),
        ("PM12 AKUA", "+233241111112", None),
        ("PM13 KOFI", "+233241111113", None),
    }


def test_a_title_above_the_header() -> None:
    job = run_import(FILES / "header_row3.xlsx")
    assert (job.status, job.header_row, job.rows_read, job.created) == ("succeeded", 3, 3, 3)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("empty.xlsx", "empty_file"),
        ("header_only.csv", "no_rows"),
        ("truncated.xlsx", "corrupt_file"),
        ("not_really.xlsx", "missing_columns"),  # text with an .xlsx name is read as the text it is
        ("basic_short_records.xlsb", "missing_columns"),  # calamine cannot read these cells: say so, do not guess
    ],
)
def test_unusable_files_fail_with_a_code_and_write_nothing(name: str, code: str) -> None:
    try:
        job = run_import(FILES / name)
    except ImportFileError as exc:  # refused on upload, before any job exists
        assert (exc.code, bool(exc.message)) == (code, True)
    else:
        ending = "needs_mapping" if code == "missing_columns" else "failed"  # columns to choose: not a dead end
        assert (job.status, job.error_code) == (ending, code), job.error_message
        assert job.error_message
    assert not Customer.objects.exists()


def test_detect_format_rejects_binary_junk(tmp_path) -> None:
    junk = tmp_path / "photo.xlsx"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    with pytest.raises(ImportFileError) as caught:
        detect_format(junk)
    assert caught.value.code == "unsupported_format"


@pytest.mark.parametrize("name", ["basic.ods", "basic.xls", "basic.xlsb"])
def test_calamine_only_formats_above_the_memory_threshold_are_refused_with_a_way_out(name: str, settings) -> None:
    settings.IMPORT_STREAMING_THRESHOLD_BYTES = 1000
    job = run_import(FILES / name)
    assert (job.status, job.error_code) == ("failed", "file_too_large_for_format")
    assert "Save it as .xlsx or .csv" in job.error_message


def test_big_xlsx_switches_to_the_streaming_reader_with_the_same_result(settings) -> None:
    settings.IMPORT_STREAMING_THRESHOLD_BYTES = 1000
    assert open_rows(FILES / "basic.xlsx").reader == "xlsx-stream"
    job = run_import(FILES / "basic.xlsx")
    assert (job.created, job.failed) == (4, 2)
    assert _customers() == BASIC_CUSTOMERS
    assert errors_by_row(job) == BASIC_ERRORS


def test_the_first_visible_sheet_with_data_is_chosen(tmp_path) -> None:
    import xlsxwriter

    path = tmp_path / "blank_first.xlsx"
    workbook = xlsxwriter.Workbook(path)
    workbook.add_worksheet("Sheet1")  # empty
    data = workbook.add_worksheet("Clients")
    data.write_row(0, 0, ["Mark", "First Name", "Last Name", "Phone"])
    data.write_row(1, 0, ["PM1", "Ama", "Owusu", "0241234567"])
    workbook.close()
    job = run_import(path)
    assert (job.sheet_name, job.created) == ("Clients", 1)


def test_a_password_protected_workbook_says_so(tmp_path) -> None:
    """Excel saves an .xlsx with a password as an OLE container whose `EncryptedPackage` stream holds the workbook:
    it is refused as password-protected, with what to do, never as 'damaged' or with a library's error name."""
    sector = bytearray(512)
    name = "EncryptedPackage".encode("utf-16-le")
    sector[: len(name)] = name
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + bytes(sector) + bytes(2048))
    with pytest.raises(ImportFileError) as refused:
        store_file(path)
    assert refused.value.code == "password_protected"
    assert "remove the password" in refused.value.message and "Error" not in refused.value.message


def test_a_damaged_workbook_names_no_library_error(tmp_path) -> None:
    path = tmp_path / "broken.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00garbage" * 400)
    job = run_import(path)
    assert (
        job.error_code == "corrupt_file" and "Error" not in job.error_message and "save it again" in job.error_message
    )


def test_blank_rows_are_skipped_and_rows_of_zeros_or_dashes_are_not(tmp_path) -> None:
    """A row is blank when every cell is empty (xlsx) or only whitespace (csv); a 0, a - or a lone quote is data."""
    import xlsxwriter

    csv_path = tmp_path / "rows.csv"
    csv_path.write_text('a,b\n , \n,\t\n0,\n,-\n"",""\n\xa0,\n', encoding="utf-8")
    assert [number for number, _ in open_rows(csv_path).rows] == [1, 4, 5]
    xlsx_path = tmp_path / "rows.xlsx"
    workbook = xlsxwriter.Workbook(xlsx_path)
    sheet = workbook.add_worksheet()
    for row, cells in enumerate([["a", "b"], ["", ""], [0, ""], ["", "-"], [None, None], [False, ""]]):
        for column, value in enumerate(cells):
            if value is not None and value != "":
                sheet.write(row, column, value)
            elif value == "":
                sheet.write_blank(row, column, None, workbook.add_format({"bold": True}))
    workbook.close()
    assert [number for number, _ in open_rows(xlsx_path).rows] == [1, 3, 4, 6]
