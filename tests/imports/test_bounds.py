"""Workbooks whose declared sizes, repeats or shared strings made python-calamine allocate gigabytes and abort the
import process (issue #23, item 1) are refused before calamine is given them; ordinary workbooks of every format
still read. A hostile file reaching calamine fails the test at once: `no_calamine` replaces its entry point."""

from __future__ import annotations

import codecs
import struct
import zipfile
from pathlib import Path

import pytest
import python_calamine

from primepre.imports import bounds, xlsx_stream
from primepre.imports.errors import ImportFileError
from primepre.imports.readers import detect_format, list_sheets, open_rows

from ..sheets import (
    FILES,
    write_far_cell_xlsb,
    write_far_ods,
    write_looping_xls,
    write_many_strings_xls,
    write_many_strings_xlsb,
    write_padded_ods,
    write_repeated_text_ods,
    write_shared_strings_xlsx,
    write_spaces_ods,
    write_tall_dimensions_xls,
    write_unclosed_ods,
    write_wide_empty_rows_ods,
    write_xls,
    write_xlsb_with,
)


class _NoCalamine:
    """Stands in for python_calamine.CalamineWorkbook: a file given to it fails the test (pytest.fail raises a
    BaseException, so no `except Exception` of the readers turns it into an error code)."""

    @staticmethod
    def from_path(path: str, *args: object, **kwargs: object) -> None:
        pytest.fail(f"calamine was given {path}")


@pytest.fixture
def no_calamine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(python_calamine, "CalamineWorkbook", _NoCalamine)


def _refused(path: Path, code: str) -> ImportFileError:
    """open_rows refuses `path` with `code`, and the review's list of sheets is empty (the run says why)."""
    with pytest.raises(ImportFileError) as caught:
        open_rows(path)
    assert caught.value.code == code, caught.value.message
    assert list_sheets(path, detect_format(path)) == []
    return caught.value


# --- .ods ----------------------------------------------------------------------------------------------------------


def test_an_ods_reaching_far_is_refused_unread(tmp_path: Path, no_calamine) -> None:
    error = _refused(write_far_ods(tmp_path / "far.ods"), "sheet_too_large")
    assert "'Customers'" in error.message and "row 5,002" in error.message and ".xlsx or .csv" in error.message


@pytest.mark.parametrize("write", [write_spaces_ods, write_repeated_text_ods, write_wide_empty_rows_ods])
def test_an_ods_whose_repeats_or_spaces_would_outgrow_memory_is_refused_unread(tmp_path: Path, no_calamine, write):
    error = _refused(write(tmp_path / "bomb.ods"), "file_too_large_for_format")
    assert "250 MB" in error.message


def test_a_libreoffice_ods_with_trailing_repeated_empty_rows_and_cells_still_reads(tmp_path: Path) -> None:
    """LibreOffice ends every row with empty cells to column XFD and the sheet with empty rows to row 1,048,576:
    calamine materialises neither, so neither counts."""
    path = write_padded_ods(tmp_path / "padded.ods", [["Shipping Mark", "Phone"], ["PM1 KOFI", "0241234567"]])
    bounds.check_ods(path)
    opened = open_rows(path)
    assert (opened.reader, list(opened.rows)) == (
        "calamine",
        [(1, ("Shipping Mark", "Phone")), (2, ("PM1 KOFI", "0241234567"))],
    )


def test_an_ods_cut_inside_its_table_is_refused_unread(tmp_path: Path, no_calamine) -> None:
    """calamine never returns from it (it spins at the end of the file, looking for the table's end)."""
    _refused(write_unclosed_ods(tmp_path / "cut.ods"), "corrupt_file")


# --- .xls ----------------------------------------------------------------------------------------------------------


def test_an_xls_declaring_the_whole_sheet_is_refused_unread(tmp_path: Path, no_calamine) -> None:
    error = _refused(write_tall_dimensions_xls(tmp_path / "tall.xls"), "sheet_too_large")
    assert "'Customers' reaches row 65,536 and column 256" in error.message


def test_an_xls_whose_sectors_loop_is_refused_as_damaged(tmp_path: Path, no_calamine) -> None:
    assert "loops" in _refused(write_looping_xls(tmp_path / "loop.xls"), "corrupt_file").message


def test_an_xls_whose_shared_strings_outgrow_the_budget_is_refused_unread(tmp_path: Path, settings, no_calamine):
    settings.IMPORT_MAX_RSS_MB = 20  # 10 MB for calamine's strings: 200,000 of them take more
    _refused(write_many_strings_xls(tmp_path / "strings.xls", 200_000), "too_many_shared_strings")


def test_an_xls_within_the_budget_still_reads(tmp_path: Path, settings) -> None:
    settings.IMPORT_MAX_RSS_MB = 20
    path = write_xls(tmp_path / "fine.xls", ["Shipping Mark", "PM1 KOFI", *["x"] * 50_000], [(0, 0, 0), (1, 0, 1)])
    bounds.check_xls(path)
    assert list(open_rows(path).rows) == [(1, ("Shipping Mark",)), (2, ("PM1 KOFI",))]


# --- .xlsb ---------------------------------------------------------------------------------------------------------


def test_an_xlsb_reaching_far_is_refused_unread(tmp_path: Path, no_calamine) -> None:
    error = _refused(write_far_cell_xlsb(tmp_path / "far.xlsb"), "sheet_too_large")
    assert "'Customers' reaches row 1,000,000 and column 16,000" in error.message


def test_an_xlsb_whose_shared_strings_outgrow_the_budget_is_refused_unread(tmp_path: Path, settings, no_calamine):
    settings.IMPORT_MAX_RSS_MB = 20
    _refused(write_many_strings_xlsb(tmp_path / "strings.xlsb", 200_000), "too_many_shared_strings")


def test_an_xlsb_record_longer_than_any_real_one_is_refused_unread(tmp_path: Path, no_calamine) -> None:
    """calamine allocates a record at its declared length (up to 256 MB) before reading it."""
    path = write_xlsb_with(tmp_path / "record.xlsb", {"xl/styles.bin": b"\x01\xff\xff\xff\x7f"})
    assert "268,435,455 bytes" in _refused(path, "corrupt_file").message


# --- .xlsx ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eight_million_strings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The review's file: 8,000,000 shared strings (762 MB unpacked, under the zip-bomb limit), a few MB on disk."""
    text = b"Customer name and address, long enough to make hundreds of MB of shared strings in all"
    return write_shared_strings_xlsx(tmp_path_factory.mktemp("xlsx") / "strings.xlsx", 8_000_000, text=text)


def test_an_xlsx_with_8_million_shared_strings_is_refused_unread(eight_million_strings: Path, no_calamine) -> None:
    with pytest.raises(ImportFileError) as caught:
        open_rows(eight_million_strings)
    assert caught.value.code == "too_many_shared_strings"
    assert "8,000,000 texts" in caught.value.message


def test_nor_is_it_given_to_the_streaming_reader(eight_million_strings: Path, settings, monkeypatch) -> None:
    """Its sheet large enough for the streaming reader, which keeps the strings on disk: 8 bytes of memory each and
    the whole table mapped back, still more than the budget."""
    settings.IMPORT_STREAMING_THRESHOLD_BYTES = 0
    monkeypatch.setattr(xlsx_stream._SharedStrings, "load", lambda *args: pytest.fail("the strings were loaded"))
    with pytest.raises(ImportFileError) as caught:
        open_rows(eight_million_strings)
    assert caught.value.code == "too_many_shared_strings"


def test_an_xlsx_declaring_ten_billion_strings_goes_to_the_streaming_reader(tmp_path: Path, no_calamine) -> None:
    """calamine reserves the declared uniqueCount (240 GB here); the streaming reader reserves nothing for it."""
    opened = open_rows(write_shared_strings_xlsx(tmp_path / "declared.xlsx", 1, unique_count=10**10))
    assert (opened.reader, list(opened.rows)) == ("xlsx-stream", [(1, ("x",))])


def test_an_xlsx_whose_cells_would_copy_a_long_shared_string_goes_to_the_streaming_reader(
    tmp_path: Path, no_calamine
) -> None:
    """calamine copies a shared string's text into every cell showing it: one 32,000-character string in 40,000
    cells is 1.3 GB from a 60 KB file. The streaming reader looks each up as its row is read."""
    path = write_shared_strings_xlsx(tmp_path / "copies.xlsx", 1, text=b"x" * 32_000, cells=40_000)
    opened = open_rows(path)
    assert opened.reader == "xlsx-stream"
    assert sum(len(values[0]) for _row, values in opened.rows) == 40_000 * 32_000


def test_an_xlsx_whose_strings_fit_calamine_keeps_it(tmp_path: Path) -> None:
    path = write_shared_strings_xlsx(tmp_path / "fine.xlsx", 100_000)
    assert bounds.xlsx_strings_fit_calamine(path)
    assert open_rows(path).reader == "calamine"


def test_a_zip_holding_two_parts_of_one_name_is_refused(tmp_path: Path) -> None:
    """Else a check could read one part and calamine the other (it looks some up ignoring case)."""
    path = write_padded_ods(tmp_path / "twice.ods", [["Shipping Mark"]])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("CONTENT.XML", "<office:document-content/>")
    with pytest.raises(ImportFileError) as caught:
        detect_format(path)
    assert caught.value.code == "corrupt_file"


# --- ordinary files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["basic.xls", "basic.xlsb", "basic_short_records.xlsb", "basic.ods", "padded.ods", "multi_sheet.ods", "basic.xlsx"],
)
def test_ordinary_workbooks_pass_the_bounds_and_read(name: str) -> None:
    path = FILES / name
    file_format = detect_format(path)
    bounds.check_workbook(path, file_format)
    assert list_sheets(path, file_format)
    opened = open_rows(path)
    assert opened.reader == "calamine"
    assert sum(1 for _row in opened.rows) == 7  # the header and six customers


def test_the_workbooks_shared_strings_and_sheets_are_found_as_calamine_finds_them() -> None:
    assert bounds.xlsx_strings_fit_calamine(FILES / "basic.xlsx")
    with zipfile.ZipFile(FILES / "basic.xlsb") as archive:
        assert bounds._xlsb_sheets(archive) == [("Customers", "xl/worksheets/sheet1.bin")]


# --- a CSV of a byte-order mark (issue #23, item 9a) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n  \n\t", codecs.BOM_UTF16_LE + " \r\n".encode("utf-16-le")],
)
def test_a_csv_of_only_a_byte_order_mark_and_blanks_is_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(content)
    for read in (detect_format, open_rows):
        with pytest.raises(ImportFileError) as caught:
            read(path)
        assert (caught.value.code, caught.value.message) == ("empty_file", "The file is empty.")


def test_a_calamine_panic_is_a_damaged_file_not_a_crash(tmp_path: Path) -> None:
    """A cell naming shared string 999 of 40 makes calamine panic: pyo3's PanicException, a BaseException that an
    `except Exception` lets through to the job (and the review page), is the file's damage like any other."""
    cell = struct.pack("<III", 0, 0, 999)  # column A, no style, string 999
    dimensions = b"\x94\x01\x10" + bytes(16)  # BrtWsDim: A1
    sheet = b"\x81\x01\x00" + dimensions + b"\x91\x01\x00" + b"\x00\x11" + bytes(17) + b"\x07\x0c" + cell
    sheet += b"\x92\x01\x00"
    path = write_xlsb_with(tmp_path / "panic.xlsb", {"xl/worksheets/sheet1.bin": sheet})
    with pytest.raises(ImportFileError) as caught:
        open_rows(path)
    assert caught.value.code == "corrupt_file"
