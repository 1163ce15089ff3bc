"""The streaming xlsx reader must give exactly what python-calamine gives (the engine may use either) while keeping its
memory flat, and must turn every kind of broken or hostile file into an XlsxStreamError a user can read."""

from __future__ import annotations

import gc
import os
import posixpath
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
import xlsxwriter

from primepre.imports import xlsx_stream
from primepre.imports.xlsx_stream import XlsxStreamError, iter_xlsx_rows, xlsx_sheets

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


# ---------------------------------------------------------------------------------------------------------------
# helpers


def calamine_rows(path: Path, sheet: str) -> list[tuple[int, tuple]]:
    """calamine's view in our shape: Excel row numbers, values from column A, trailing "" trimmed, blank rows gone.

    python-calamine 0.9's iter_rows() starts at row 1 (leading blank rows included) but at the first used column
    (``start[1]``), so rows are numbered from 1 and padded on the left, as the engine's calamine reader does.
    """
    data = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    first_column = data.start[1] if data.height else 0
    rows = []
    for number, values in enumerate(data.iter_rows(), start=1):
        values = [""] * first_column + list(values)
        while values and values[-1] == "":
            values.pop()
        if values:
            rows.append((number, tuple(values)))
    return rows


def stream(path: Path, sheet: str | None = None) -> list[tuple[int, tuple]]:
    return list(iter_xlsx_rows(path, sheet))


def assert_same_as_calamine(path: Path, sheet: str) -> list[tuple[int, tuple]]:
    ours = stream(path, sheet)
    theirs = calamine_rows(path, sheet)
    assert len(ours) == len(theirs)
    for mine, expected in zip(ours, theirs, strict=True):
        assert mine == expected
        assert [type(value) for value in mine[1]] == [type(value) for value in expected[1]]
    return ours


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def sheet_xml(body: str, prefix: str = "") -> str:
    ns = f"xmlns:{prefix[:-1]}" if prefix else "xmlns"
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<{prefix}worksheet {ns}="{MAIN_NS}" xmlns:r="{REL_NS}">{body}</{prefix}worksheet>'
    )


def package(
    sheets: list[tuple[str, str]],
    shared: str | None = None,
    targets: list[str] | None = None,
) -> dict[str, str | bytes]:
    """The parts of a minimal workbook written by hand, for what no library writes (phonetic runs, prefixes...)."""
    targets = targets or [f"worksheets/sheet{i}.xml" for i in range(1, len(sheets) + 1)]
    members: dict[str, str | bytes] = {}
    overrides = [
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument'
        '.spreadsheetml.sheet.main+xml"/>'
    ]
    sheet_entries, rels = [], []
    for i, ((name, xml), target) in enumerate(zip(sheets, targets, strict=True), start=1):
        sheet_entries.append(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>')
        rels.append(f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="{target}"/>')
        member = posixpath.normpath(target.lstrip("/") if target.startswith("/") else "xl/" + target)
        members[member] = xml
        overrides.append(
            f'<Override PartName="/{member}" ContentType="application/vnd.openxmlformats-officedocument'
            f'.spreadsheetml.worksheet+xml"/>'
        )
    if shared is not None:
        members["xl/sharedStrings.xml"] = shared
        rels.append(f'<Relationship Id="rIdS" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>')
        overrides.append(
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument'
            '.spreadsheetml.sharedStrings+xml"/>'
        )
    members["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        '+xml"/><Default Extension="xml" ContentType="application/xml"/>' + "".join(overrides) + "</Types>"
    )
    members["_rels/.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
        f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    members["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
        + "".join(sheet_entries)
        + "</sheets></workbook>"
    )
    members["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
        + "".join(rels)
        + "</Relationships>"
    )
    return members


def sst_xml(items: list[str], count: int | None = None) -> str:
    declared = f' count="{count}" uniqueCount="{count}"' if count is not None else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}"{declared}>' + "".join(items) + "</sst>"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# ---------------------------------------------------------------------------------------------------------------
# values, compared with calamine


def test_values_of_every_type_match_calamine(tmp_path):
    path = tmp_path / "mixed.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("Data")
    ws.write_row(0, 0, ["First name", "Last name", "Mark", "Phone", "Active"])
    ws.write_row(1, 0, ["Kofi", "Mensah", "PM123 KOFI", 233241234567, True])
    ws.write_row(2, 0, ["  Ama  ", "O'Neil & <Sons>", 'say "hi"', 0.5, False])
    ws.write_string(3, 0, "₵ Cedi 日本語 ✓")
    ws.write_formula(3, 1, "=1/0", None, "#DIV/0!")  # error -> ""
    ws.write_formula(3, 2, "=NA()", None, "#N/A")
    ws.write_formula(3, 3, '="A"&"B"', None, "AB")  # t="str"
    ws.write_formula(3, 4, "=2+3", None, 5)
    ws.write_string(4, 2, "line 1\nline 2\ttab")  # gap in columns A-B
    ws.write_number(4, 6, -1.25e-7)  # gap D-F
    ws.write_number(9, 1, 241234567)  # gap in rows 6-9
    ws.write_blank(10, 0, None, wb.add_format({"bold": True}))  # styled but empty: not a row
    ws.write_string(12, 3, " ")
    wb.close()

    rows = assert_same_as_calamine(path, "Data")

    assert rows == [
        (1, ("First name", "Last name", "Mark", "Phone", "Active")),
        (2, ("Kofi", "Mensah", "PM123 KOFI", 233241234567.0, True)),
        (3, ("  Ama  ", "O'Neil & <Sons>", 'say "hi"', 0.5, False)),
        (4, ("₵ Cedi 日本語 ✓", "", "", "AB", 5.0)),
        (5, ("", "", "line 1\nline 2\ttab", "", "", "", -1.25e-7)),
        (10, ("", 241234567.0)),
        (13, ("", "", "", " ")),
    ]
    assert isinstance(rows[1][1][3], float)


def test_inline_strings_from_constant_memory_match_calamine(tmp_path):
    path = tmp_path / "inline.xlsx"
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("Inline")
    for i in range(200):
        ws.write_row(i + 2, 1, [f"name {i}", i * 1.5, f"  {i} & more  ", bool(i % 2)])
    wb.close()
    assert 't="inlineStr"' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()

    rows = assert_same_as_calamine(path, "Inline")

    assert rows[0] == (3, ("", "name 0", 0.0, "  0 & more  ", False))
    assert len(rows) == 200


def test_openpyxl_workbook_matches_calamine(tmp_path):
    path = tmp_path / "openpyxl.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    ws.append(["Name", "Phone", "Note"])
    ws.append(["Efua", 233200000001, None, "extra"])
    ws["B5"] = "only B"
    ws["E5"] = 3.25
    ws["A7"] = True
    ws["C8"] = "=A1"  # a formula with no cached value: calamine and we both see it as empty
    ws["D9"].number_format = "0.00"  # formatted but empty
    wb.save(path)

    rows = assert_same_as_calamine(path, "Customers")

    assert rows[:3] == [
        (1, ("Name", "Phone", "Note")),
        (2, ("Efua", 233200000001.0, "", "extra")),
        (5, ("", "only B", "", "", 3.25)),
    ]


def test_rich_text_ignores_phonetic_runs_and_keeps_whitespace(tmp_path):
    # Written by hand, indented like a pretty-printer would (whitespace between elements must not leak into
    # values, while whitespace inside <t> must be kept).
    shared = sst_xml(
        [
            "<si><t>plain</t></si>",
            '<si>\n  <r><rPr><b/></rPr><t xml:space="preserve">Kofi </t></r>\n'
            "  <r><t>Mensah</t></r>\n"
            '  <rPh sb="0" eb="4"><t>コフィ</t></rPh>\n  <phoneticPr fontId="1"/>\n</si>',
            '<si><t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh></si>',
            "<si/>",
            '<si><t xml:space="preserve">  spaced  </t></si>',
            "<si><t>a &amp; b &lt;c&gt; &#8373;&#x20B5;</t></si>",
        ]
    )
    body = """
  <sheetData>
    <row r="1">
      <c r="A1" t="s">
        <v>0</v>
      </c>
      <c r="B1" t="s"><v>1</v></c>
      <c r="C1" t="s"><v>2</v></c>
      <c r="D1" t="s"><v>3</v></c>
      <c r="E1" t="s"><v>4</v></c>
    </row>
    <row r="2">
      <c r="A2" t="inlineStr">
        <is>
          <r><t xml:space="preserve">Ama </t></r>
          <r><rPr><i/></rPr><t>Owusu</t></r>
          <rPh sb="0" eb="3"><t>アマ</t></rPh>
        </is>
      </c>
      <c r="B2" t="s"><v>5</v></c>
      <c r="C2"><f>1+1</f><v>2</v></c>
      <c r="D2" t="b"><v>1</v></c>
      <c r="E2" t="e"><v>#N/A</v></c>
      <c r="F2" t="str"><f>"x"</f><v xml:space="preserve"> x </v></c>
    </row>
  </sheetData>
"""
    path = write_zip(tmp_path / "rich.xlsx", package([("Rich", sheet_xml(body))], shared))

    rows = assert_same_as_calamine(path, "Rich")

    assert rows == [
        (1, ("plain", "Kofi Mensah", "東京", "", "  spaced  ")),
        (2, ("Ama Owusu", "a & b <c> ₵₵", 2.0, True, "", " x ")),
    ]


def test_cells_and_rows_without_references_are_counted(tmp_path):
    body = (
        "<sheetData>"
        '<row><c t="inlineStr"><is><t>a</t></is></c><c><v>1</v></c></row>'
        '<row r="4"><c r="B4"><v>2</v></c><c><v>3</v></c><c t="b"><v>0</v></c></row>'
        '<row><c/><c><v>4</v></c><c t="s"><v> </v></c><c><v>\n 5 \n</v></c></row>'
        "</sheetData>"
    )
    path = write_zip(tmp_path / "norefs.xlsx", package([("S", sheet_xml(body))]))

    assert stream(path) == [(1, ("a", 1.0)), (4, ("", 2.0, 3.0, False)), (5, ("", 4.0, "", 5.0))]


def test_prefixed_spreadsheetml_namespace(tmp_path):
    body = (
        "<x:sheetData>"
        '<x:row r="2"><x:c r="C2" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c><x:c r="D2"><x:v>7</x:v></x:c></x:row>'
        "</x:sheetData>"
    )
    path = write_zip(tmp_path / "prefixed.xlsx", package([("S", sheet_xml(body, prefix="x:"))]))

    assert stream(path) == [(2, ("", "", "x", 7.0))]


def test_trailing_padding_rows_are_skipped(tmp_path):
    # LibreOffice can pad a sheet with empty, styled rows down to row 1,048,576.
    padding = "".join(f'<row r="{n}" s="1" customFormat="true"><c r="A{n}" s="1"/></row>' for n in range(3, 200_003))
    body = f'<sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="2"/>{padding}</sheetData>'
    path = write_zip(tmp_path / "padded.xlsx", package([("S", sheet_xml(body))]))

    assert stream(path) == [(1, (1.0,))]


def test_large_shared_string_table_on_disk_gives_the_same_values(tmp_path, monkeypatch):
    items = [f"<si><t>s{i}</t></si>" for i in range(40)] + ["<si><t></t></si>", "<si><t>ü</t></si>"]
    rows_body = []
    for r in range(2):
        row_cells = "".join(f'<c r="{chr(65 + i)}{r + 1}" t="s"><v>{r * 21 + i}</v></c>' for i in range(21))
        rows_body.append(f'<row r="{r + 1}">{row_cells}</row>')
    body = "<sheetData>" + "".join(rows_body) + "</sheetData>"
    declared = write_zip(tmp_path / "declared.xlsx", package([("S", sheet_xml(body))], sst_xml(items, count=42)))
    undeclared = write_zip(tmp_path / "undeclared.xlsx", package([("S", sheet_xml(body))], sst_xml(items)))
    in_memory = stream(declared)

    monkeypatch.setattr(xlsx_stream, "SHARED_STRINGS_IN_MEMORY", 5)
    assert stream(declared) == in_memory  # uniqueCount says big: straight to disk
    assert stream(undeclared) == in_memory  # no count: spilled to disk when the list reaches the threshold
    assert in_memory == [
        (1, tuple(f"s{i}" for i in range(21))),
        (2, (*(f"s{i}" for i in range(21, 40)), "", "ü")),
    ]

    all_empty = write_zip(
        tmp_path / "empty_strings.xlsx",
        package(
            [("S", sheet_xml('<sheetData><row r="1"><c t="s"><v>5</v></c><c><v>1</v></c></row></sheetData>'))],
            sst_xml(["<si><t></t></si>"] * 6),
        ),
    )
    assert stream(all_empty) == [(1, ("", 1.0))]


def test_hundred_thousand_rows_match_calamine(tmp_path):
    path = tmp_path / "big.xlsx"
    wb = xlsxwriter.Workbook(path)  # shared strings: ~300,000 unique, so the reader's on-disk table is used
    ws = wb.add_worksheet("Customers")
    ws.write_row(0, 0, ["First name", "Last name", "Mark", "Phone", "Email", "Region"])
    regions = ["Greater Accra", "Ashanti", "Volta", "Northern"]
    for i in range(1, 100_001):
        if i % 1000 == 0:
            continue  # a blank row now and then
        ws.write_row(
            i,
            0,
            [
                f"Kofi{i}",
                "Mensah" if i % 3 else "",
                f"PM{i} KOFI",
                233240000000 + i,
                f"kofi{i}@example.com",
                regions[i % 4],
            ],
        )
    wb.close()

    rows = assert_same_as_calamine(path, "Customers")

    assert len(rows) == 100_001 - 100
    assert rows[-1] == (100_000, ("Kofi99999", "", "PM99999 KOFI", 233240099999.0, "kofi99999@example.com", "Northern"))


# ---------------------------------------------------------------------------------------------------------------
# sheets


def test_sheets_and_default_is_first_visible(tmp_path):
    path = tmp_path / "sheets.xlsx"
    wb = xlsxwriter.Workbook(path)
    for name in ("Hidden", "Data", "Secret", "Other"):
        ws = wb.add_worksheet(name)
        ws.write_string(0, 0, f"{name} A1")
        if name == "Hidden":
            ws.hide()
        if name == "Secret":
            ws.very_hidden()
    wb.get_worksheet_by_name("Data").activate()
    wb.close()

    assert xlsx_sheets(path) == [("Hidden", False), ("Data", True), ("Secret", False), ("Other", True)]
    assert stream(path) == [(1, ("Data A1",))]
    assert stream(path, "Hidden") == [(1, ("Hidden A1",))]
    assert stream(path, "Other") == [(1, ("Other A1",))]


def test_unknown_sheet_name_lists_the_sheets(tmp_path):
    path = tmp_path / "named.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("Customers")
    wb.add_worksheet("Notes")
    wb.close()

    with pytest.raises(XlsxStreamError) as raised:
        iter_xlsx_rows(path, "Clients")  # raised at the call, before any iteration

    assert "'Clients'" in str(raised.value)
    assert "'Customers', 'Notes'" in str(raised.value)


def test_sheet_parts_are_found_through_relationships(tmp_path):
    # Parts not called sheet1.xml, reached through an absolute and a relative ("./...") relationship target.
    one = sheet_xml('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>one</t></is></c></row></sheetData>')
    two = sheet_xml('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>two</t></is></c></row></sheetData>')
    members = package([("First", one), ("Second", two)], targets=["/xl/worksheets/data.xml", "./worksheets/x/b.xml"])
    path = write_zip(tmp_path / "rels.xlsm", members)

    assert xlsx_sheets(path) == [("First", True), ("Second", True)]
    assert stream(path) == [(1, ("one",))]
    assert stream(path, "Second") == [(1, ("two",))]


def test_chartsheets_are_not_worksheets(tmp_path):
    path = tmp_path / "chart.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("Data")
    ws.write_column(0, 0, [1, 2, 3])
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"values": "=Data!$A$1:$A$3"})
    wb.add_chartsheet("Chart").set_chart(chart)
    wb.close()

    assert xlsx_sheets(path) == [("Data", True)]


# ---------------------------------------------------------------------------------------------------------------
# broken and hostile files


def test_not_a_zip(tmp_path):
    path = tmp_path / "customers.xlsx"
    path.write_text("name,phone\nKofi,0241234567\n")

    with pytest.raises(XlsxStreamError, match=r"not an \.xlsx"):
        xlsx_sheets(path)
    with pytest.raises(XlsxStreamError, match=r"not an \.xlsx"):
        iter_xlsx_rows(path)


def test_truncated_file(tmp_path):
    good = tmp_path / "good.xlsx"
    wb = xlsxwriter.Workbook(good)
    wb.add_worksheet().write_column(0, 0, list(range(5000)))
    wb.close()
    data = good.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])

    with pytest.raises(XlsxStreamError):
        stream(cut)


def test_zip_without_workbook(tmp_path):
    path = write_zip(tmp_path / "other.xlsx", {"word/document.xml": "<w/>"})

    with pytest.raises(XlsxStreamError, match=r"workbook\.xml"):
        xlsx_sheets(path)


def test_missing_sheet_part(tmp_path):
    members = package([("S", sheet_xml("<sheetData/>"))])
    del members["xl/worksheets/sheet1.xml"]
    path = write_zip(tmp_path / "missing.xlsx", members)

    with pytest.raises(XlsxStreamError, match="missing part"):
        iter_xlsx_rows(path)


def test_binary_workbook_is_named(tmp_path):
    members = package([("S", sheet_xml("<sheetData/>"))])
    members["_rels/.rels"] = str(members["_rels/.rels"]).replace("xl/workbook.xml", "xl/workbook.bin")
    members["xl/workbook.bin"] = b"\x83\x01\x00"
    path = write_zip(tmp_path / "binary.xlsx", members)

    with pytest.raises(XlsxStreamError, match="xlsb"):
        xlsx_sheets(path)


def test_empty_sheet_yields_nothing(tmp_path):
    path = tmp_path / "empty.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("Empty")
    wb.close()

    assert xlsx_sheets(path) == [("Empty", True)]
    assert stream(path) == []


def test_malformed_sheet_xml_is_corrupt(tmp_path):
    body = '<sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</c></row></sheetData>'
    path = write_zip(tmp_path / "bad.xlsx", package([("S", sheet_xml(body))]))

    rows = iter_xlsx_rows(path)
    with pytest.raises(XlsxStreamError, match="corrupt"):
        list(rows)


def test_corrupt_compressed_data(tmp_path):
    body = "<sheetData>" + "".join(f'<row r="{i}"><c><v>{i}</v></c></row>' for i in range(1, 20_000)) + "</sheetData>"
    path = write_zip(tmp_path / "crc.xlsx", package([("S", sheet_xml(body))]))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))

    with pytest.raises(XlsxStreamError, match="corrupt"):
        stream(path)


@pytest.mark.parametrize("part", ["sheet", "shared", "workbook"])
def test_doctype_is_rejected(tmp_path, part):
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
    )
    sheet = sheet_xml('<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData>')
    shared = sst_xml(["<si><t>x</t></si>"])
    members = package([("S", sheet)], shared)
    if part == "sheet":
        members["xl/worksheets/sheet1.xml"] = laughs + sheet.split("\n", 1)[1].replace(
            "<sheetData>", "<sheetData>&lol3;"
        )
    elif part == "shared":
        members["xl/sharedStrings.xml"] = laughs + shared.split("?>", 1)[1].replace("<t>x", "<t>&lol3;")
    else:
        members["xl/workbook.xml"] = laughs + str(members["xl/workbook.xml"]).split("?>", 1)[1]
    path = write_zip(tmp_path / f"doctype_{part}.xlsx", members)

    with pytest.raises(XlsxStreamError, match="document type declaration"):
        stream(path)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('<row r="1"><c r="A1" t="s"><v>7</v></c></row>', "shared string"),
        ('<row r="1"><c r="A1" t="s"><v>-1</v></c></row>', "shared string"),
        ('<row r="1"><c r="A1"><v>twelve</v></c></row>', "not a number"),
        ('<row r="1"><c r="ZZZZZZ1"><v>1</v></c></row>', "beyond Excel's last column"),
        ('<row r="1"><c r="A$1"><v>1</v></c></row>', "not a column reference"),
        ('<row r="1x"><c r="A1"><v>1</v></c></row>', "not a row number"),
        ("<row>" + "<c/>" * 16_384 + "<c><v>1</v></c></row>", "more cells than Excel allows"),
    ],
)
def test_bad_cells_are_corrupt(tmp_path, row, message):
    body = f"<sheetData>{row}</sheetData>"
    path = write_zip(tmp_path / "cells.xlsx", package([("S", sheet_xml(body))], sst_xml(["<si><t>x</t></si>"])))

    with pytest.raises(XlsxStreamError, match=message) as raised:
        stream(path)
    assert "corrupt" in str(raised.value)


@pytest.mark.parametrize(
    "text",
    ["<t>" + "x" * 3_000_000 + "</t>", "<r><t>0123456789</t></r>" * 300_000],
    ids=["one-text", "many-runs"],
)
def test_endless_text_is_refused(tmp_path, text):
    body = f'<sheetData><row r="1"><c r="A1" t="inlineStr"><is>{text}</is></c></row></sheetData>'
    path = write_zip(tmp_path / "long.xlsx", package([("S", sheet_xml(body))]))

    with pytest.raises(XlsxStreamError, match="characters"):
        stream(path)


def test_endless_shared_string_table_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_stream, "SHARED_STRINGS_IN_MEMORY", 10)
    monkeypatch.setattr(xlsx_stream, "MAX_SHARED_STRINGS", 1000)
    body = '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData>'
    path = write_zip(tmp_path / "bomb.xlsx", package([("S", sheet_xml(body))], sst_xml(["<si/>"] * 100_000)))

    with pytest.raises(XlsxStreamError, match="different texts"):
        stream(path)


# ---------------------------------------------------------------------------------------------------------------
# resources


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count open files")
def test_files_are_closed_when_exhausted_or_closed_early(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_stream, "SHARED_STRINGS_IN_MEMORY", 10)  # so a temporary file is involved
    items = [f"<si><t>s{i}</t></si>" for i in range(100)]
    body = "<sheetData>" + "".join(f'<row r="{i}"><c t="s"><v>{i % 100}</v></c></row>' for i in range(1, 50_000))
    path = write_zip(tmp_path / "fds.xlsx", package([("S", sheet_xml(body + "</sheetData>"))], sst_xml(items)))
    gc.collect()
    before = open_fds()

    rows = iter_xlsx_rows(path)
    assert open_fds() == before  # nothing is held between the call and the first row
    assert next(rows) == (1, ("s1",))
    assert open_fds() > before  # the zip and the shared-string file
    rows.close()
    assert open_fds() == before

    assert len(stream(path)) == 49_999
    assert open_fds() == before


def test_memory_stays_flat_with_a_million_unique_shared_strings(tmp_path):
    """300,000 rows, 1.2 million unique shared strings: the Python heap must not grow with either."""
    rows, columns = 300_000, 4
    path = tmp_path / "huge.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in package([("S", "")], "").items():
            if name not in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
                zf.writestr(name, data)
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            out.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}">'.encode())
            for start in range(0, rows * columns, 10_000):
                out.write(
                    "".join(f"<si><t>Customer {i} Ama-Kofi</t></si>" for i in range(start, start + 10_000)).encode()
                )
            out.write(b"</sst>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(sheet_xml("<sheetData>").rsplit("</worksheet>", 1)[0].encode())
            for start in range(1, rows + 1, 5_000):
                out.write(
                    "".join(
                        f'<row r="{r}"><c r="A{r}" t="s"><v>{(r - 1) * 4}</v></c><c r="B{r}" t="s"><v>{(r - 1) * 4 + 1}'
                        f'</v></c><c r="C{r}"><v>{233240000000 + r}</v></c><c r="D{r}" t="s"><v>{(r - 1) * 4 + 2}</v>'
                        f'</c><c r="E{r}" t="s"><v>{(r - 1) * 4 + 3}</v></c></row>'
                        for r in range(start, start + 5_000)
                    ).encode()
                )
            out.write(b"</sheetData></worksheet>")

    gc.collect()
    tracemalloc.start()
    try:
        count = 0
        last = None
        for row in iter_xlsx_rows(path):
            count += 1
            last = row
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == rows
    assert last == (
        rows,
        (
            "Customer 1199996 Ama-Kofi",
            "Customer 1199997 Ama-Kofi",
            233240300000.0,
            "Customer 1199998 Ama-Kofi",
            "Customer 1199999 Ama-Kofi",
        ),
    )
    assert peak < 30 * 1024 * 1024, f"peak Python heap {peak / 1024 / 1024:.1f} MB"
