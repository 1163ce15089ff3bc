"""The failing rows of a goods sheet on the review page (issue #24 item 8): a file without a header row gets column
letters with the field each feeds as its headings, and its failing cells are highlighted as a headed file's are."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from ..imports.helpers import write_csv

pytestmark = pytest.mark.django_db
# The old A–H layout: mark, date received, date loading, description, cartons, specs, CBM, tracking.
HEADER = ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DATE OF LOADING", "DESCRIPTION", "CTNS", "SPECIFICATIONS",
          "CBM", "SUPPLIER&TRACKING NO"]  # fmt: skip
ROWS = [
    ["PM4 KOFI", "28/11/2026", "30/11/2026", "shoes", "3", "50*40*30", "", "SF1"],  # a good first line
    ["PM4 KOFI", "28/11/2026", "", "bags", "many", "", "0.5", "SF2"],
    ["MARK003/MARK004", "31/02/2026", "", "tiles", "4", "", "1.2", "SF3"],
]
LETTERED = [
    "A · Shipping Mark/Client", "B · Date of Receipt", "C · Date of Loading", "D · Description", "E · CTNS",
    "F · Specifications", "G · CBM", "H · Supplier&Tracking No",
]  # fmt: skip


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


class _FailingTable(HTMLParser):
    """The #failing table as {"headings": [...], "rows": [[(text, class, title), ...], ...]}, row headers included."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.cell: dict[str, Any] | None = None
        self.headings: list[str] = []
        self.rows: list[list[tuple[str, str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id") == "failing":
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("th", "td"):
            self.cell = {"text": "", "class": attributes.get("class") or "", "title": attributes.get("title") or ""}

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("th", "td") and self.cell is not None:
            self.rows[-1].append((self.cell["text"].strip(), self.cell["class"], self.cell["title"]))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell["text"] += data


def _failing_table(html: str) -> tuple[list[str], list[list[tuple[str, str, str]]]]:
    parser = _FailingTable()
    parser.feed(html)
    head, *body = parser.rows
    return [text for text, _, _ in head], body


def _review(warehouse_user: Any, wizard_for: Any, path: Path) -> str:
    client = wizard_for(warehouse_user)
    with open(path, "rb") as handle:
        response = client.post_and_run("/imports/new/", {"file": handle, "schema": "goods", "warehouse": "GZ"})
    job = response.context["job"]
    assert (job.status, job.created, job.failed) == ("previewed", 1, 2), job.error_message
    return response.content.decode()


@pytest.mark.parametrize(
    ("header", "headings"),
    [(None, LETTERED), (HEADER, HEADER)],
    ids=["headerless: letters and fields", "with a header: the file's own"],
)
def test_the_failing_rows_are_headed_and_their_bad_cells_marked(
    warehouse_user, wizard_for, tmp_path: Path, header: list[str] | None, headings: list[str]
) -> None:
    html = _review(warehouse_user, wizard_for, write_csv(tmp_path / "goods.csv", header, ROWS))
    head, (bags, tiles) = _failing_table(html)
    assert head == ["Row", *headings, "Why"]
    assert all(len(row) == len(head) for row in (bags, tiles))  # every cell under a heading of its own
    marked = {
        (line, head[index]): text
        for line, row in (("bags", bags), ("tiles", tiles))
        for index, (text, css, title) in enumerate(row)
        if "bad" in css.split() and title
    }
    assert marked == {
        ("bags", headings[4]): "many",
        ("tiles", headings[0]): "MARK003/MARK004",
        ("tiles", headings[1]): "31/02/2026",
    }
    why = bags[-1]
    assert why[1] == "why" and why[0].startswith(f"{headings[4]}: 'many' is not a number of cartons")
