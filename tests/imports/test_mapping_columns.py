"""The mapping as the review shows it: samples read with the header (bounded, and imported as usual), one row per
column of the file, choices checked against the file's columns, and saved mappings applied through the run's hints."""

from __future__ import annotations

from pathlib import Path

import pytest

from primepre.customers.models import Customer
from primepre.imports.columns import (
    SAMPLE_MAX_CHARS,
    SAMPLE_SCAN_ROWS,
    SAMPLE_VALUES,
    MissingColumns,
    RunHints,
    SavedChoice,
    check_choices,
    column_letter,
    column_rows,
    detect_columns,
    header_key,
)
from primepre.imports.errors import ImportFileError
from primepre.imports.schema import get_schema

from .helpers import FILES, HEADER, run_import, write_csv

CUSTOMERS = get_schema("customers")


def _rows(*rows: list) -> list[tuple[int, tuple]]:
    return [(number, tuple(cells)) for number, cells in enumerate(rows, start=1)]


def _detect(rows: list[tuple[int, tuple]], **kwargs):
    return detect_columns(iter(rows), CUSTOMERS, region="GH", **kwargs)


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 701, 702, 16_383)] == ["A", "Z", "AA", "AZ", "ZZ", "AAA", "XFD"]


def test_samples_are_the_first_values_of_each_column_and_every_row_is_still_imported() -> None:
    data = [[f"PM{i}", f"Name{i}", "Owusu", f"02412345{i:02d}", "" if i % 2 else f"a{i}@b.co"] for i in range(30)]
    rows = _rows(["Mark", "First Name", "Last Name", "Phone", "Email"], *data)
    mapping, leftovers = _detect(rows)
    assert leftovers == rows[1 : 1 + SAMPLE_SCAN_ROWS]  # read ahead for the samples, handed back to be imported
    assert mapping.samples[0] == ["PM0", "PM1", "PM2"]
    assert mapping.samples[4] == ["a0@b.co", "a2@b.co", "a4@b.co"]  # blanks skipped
    assert mapping.width == 5 and all(len(values) <= SAMPLE_VALUES for values in mapping.samples)
    stored = mapping.as_json()
    assert stored["samples"] == mapping.samples and stored["width"] == 5 and stored["saved_mapping"] is None


@pytest.mark.django_db
def test_a_whole_file_imports_the_same_with_the_rows_read_ahead(tmp_path: Path) -> None:
    rows = [[f"PM{i} A", "Ama", "Owusu", f"0241{i:06d}", "", "", ""] for i in range(45)]
    job = run_import(write_csv(tmp_path / "many.csv", HEADER, rows), batch_size=10)
    assert (job.rows_read, job.created, job.failed) == (45, 45, 0)
    assert Customer.objects.count() == 45


def test_samples_are_bounded_whatever_the_cells_hold() -> None:
    huge = "z" * 1_000_000
    rows = _rows(["Mark", "First Name", "Last Name", "Phone", "Notes"], *[["PM1", "A", "B", "0241234567", huge]] * 5)
    mapping, _ = _detect(rows)
    assert mapping.samples[4] == ["z" * (SAMPLE_MAX_CHARS - 1) + "…"] * 3


def test_a_numeric_cell_is_shown_as_excel_shows_it() -> None:
    mapping, _ = _detect(_rows(["Mark", "First Name", "Last Name", "Phone"], ["PM1", "A", "B", 241234567.0]))
    assert mapping.samples[3] == ["241234567"]


def test_a_headerless_legacy_file_has_its_columns_by_letter() -> None:
    table = column_rows(_detect_legacy().as_json())
    assert [(row.label, row.field) for row in table] == [
        ("Column A", "shipping_mark"),
        ("Column B", "first_name"),
        ("Column C", "last_name"),
        ("Column D", "email"),
        ("Column E", "phone"),
        ("Column F", ""),
    ]
    assert table[0].samples == ["PM11 KOJO", "PM12 AKUA"] and table[5].samples == ["Ashanti"]


def _detect_legacy():
    rows = _rows(
        ["PM11 KOJO", "Kojo", "Antwi", "kojo@example.com", "0241111111", "Ashanti"],
        ["PM12 AKUA", "Akua", "Mensah", "", "0241111112", ""],
    )
    mapping, leftovers = _detect(rows)
    assert mapping.header_row is None and leftovers == rows
    return mapping


def test_a_legacy_column_can_be_remapped_by_number() -> None:
    rows = _rows(["PM11 KOJO", "Kojo", "Antwi", "kojo@example.com", "0241111111", "Ashanti"])
    mapping, _ = _detect(rows, overrides={"region": 5, "email": None})
    assert mapping.fields == {"shipping_mark": 0, "first_name": 1, "last_name": 2, "phone": 4, "region": 5}
    assert mapping.corrected is True


def test_column_rows_leave_out_blank_spacers_but_not_a_column_a_field_reads() -> None:
    rows = _rows(["Mark", "", "First Name", "Last Name", "Phone", "", ""], ["PM1", "", "A", "B", "0241234567", "", "x"])
    stored = _detect(rows)[0].as_json()
    assert [(row.letter, row.label) for row in column_rows(stored)] == [
        ("A", "Mark"),
        ("C", "First Name"),
        ("D", "Last Name"),
        ("E", "Phone"),
        ("G", "Column G"),
    ]


def test_a_file_without_a_header_we_know_still_has_its_samples_on_the_mapping() -> None:
    rows = _rows(["Kod", "Imie", "Nazwisko", "Numba"], ["PM1", "Ama", "Owusu", "0241234567"])
    with pytest.raises(MissingColumns) as caught:
        _detect(rows)
    stored = caught.value.mapping.as_json()
    assert stored["headers"] == ["Kod", "Imie", "Nazwisko", "Numba"] and stored["samples"][3] == ["0241234567"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"phone": 7}, "Column 7 for Phone is outside the file: its columns are A to E, numbered 0 to 4."),
        ({"phone": "Mobile"}, "There is no column 'Mobile' in the file. Its headers: Mark, First Name"),
        ({"colour": 1}, "'colour' is not a field we import."),
    ],
)
def test_choices_that_cannot_apply_to_the_file_are_refused(columns: dict, message: str) -> None:
    stored = {"headers": ["Mark", "First Name", "Last Name", "Numba"], "width": 5}
    with pytest.raises(ImportFileError) as caught:
        check_choices(stored, columns, CUSTOMERS)
    assert caught.value.code == "bad_mapping" and message in caught.value.message


def test_choices_within_the_file_pass() -> None:
    stored = {"headers": ["Mark", "First Name", "Last Name", "Numba"], "width": 5}
    check_choices(stored, {"phone": "numba", "email": 4, "region": None}, CUSTOMERS)
    check_choices({}, {"phone": 150}, CUSTOMERS)  # columns not read yet: the run checks them


def test_the_header_key_folds_case_spaces_and_punctuation_but_not_order() -> None:
    assert header_key(["Phone No.", "First  Name", ""]) == header_key(["PHONE_NO", "first name"])
    assert header_key(["Phone", "Name"]) != header_key(["Name", "Phone"])


def test_a_saved_mapping_applies_to_the_same_headers_and_leaves_out_what_it_left_out() -> None:
    rows = _rows(["Mark", "First Name", "Last Name", "Numba", "Email"], ["PM1", "A", "B", "0241234567", "x"])
    seen = []

    def lookup(headers: list[str]) -> SavedChoice:
        seen.append(headers)
        columns = {"shipping_mark": 0, "first_name": 1, "last_name": 2, "phone": 3, "company_name": 9}
        return SavedChoice(columns, {"id": 4})

    mapping, _ = _detect(rows, hints=RunHints(saved=lookup))
    assert seen == [["Mark", "First Name", "Last Name", "Numba", "Email"]]
    # Email is detected but the saved mapping left it out; column 9 is past this file's columns.
    assert mapping.fields == {"shipping_mark": 0, "first_name": 1, "last_name": 2, "phone": 3}
    assert (mapping.saved, mapping.corrected, mapping.unknown) == ({"id": 4}, False, ["Email"])


def test_the_job_s_own_columns_win_over_a_saved_mapping() -> None:
    rows = _rows(["Mark", "First Name", "Last Name", "Numba"], ["PM1", "A", "B", "0241234567"])
    mapping, _ = _detect(rows, overrides={"phone": "Numba"}, hints=RunHints(saved=lambda headers: pytest.fail("x")))
    assert mapping.fields["phone"] == 3 and mapping.saved is None and mapping.corrected is True


def test_what_the_user_chose_the_same_as_detected_is_not_a_correction() -> None:
    mapping, _ = _detect(_rows(HEADER, ["PM1", "A", "B", "0241234567", "", "", ""]), overrides={"phone": "Phone"})
    assert mapping.corrected is False


@pytest.mark.django_db
def test_the_old_template_file_reads_as_before() -> None:
    job = run_import(FILES / "template_no_header.xlsx")
    assert (job.status, job.header_row, job.created) == ("succeeded", None, 3)
    assert job.column_mapping["width"] == 5
    assert job.column_mapping["samples"][0] == ["PM11 KOJO", "PM12 AKUA", "PM13 KOFI"]


def test_a_nul_character_in_a_sample_is_stored_as_a_replacement_character() -> None:
    """PostgreSQL's jsonb refuses NUL, and the samples are stored with the mapping."""
    mapping, _ = _detect(_rows(["Mark", "First Name", "Last Name", "Phone"], ["PM1", "Ko\x00fi", "B", "0241234567"]))
    assert mapping.samples[1] == ["Ko\ufffdfi"]
