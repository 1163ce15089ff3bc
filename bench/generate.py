"""Generate realistic customer spreadsheets for the import benchmark.

    python bench/generate.py --rows 100000 --format xlsx --out bench/out/customers_100000.xlsx [--seed 1]

The files look like what PrimePre's staff really upload: Ghanaian names, `PM12 KOFI` marks spaced and cased every
way (`pm12 kofi`, `PM12KOFI`, `PM 12 Kofi`), phones typed every way people and Excel type them (numeric cells
included), region names in mixed spellings, emails on 60% of rows, a company now and then. A share of rows
(`--bad-fraction`) is planted bad, one defect each, most of them an invalid phone (`--bad-mix`), so an importer's
failed-row count can be checked against the number printed at the end (and written to `PATH.meta.json`).

Deterministic for a seed; xlsx is written by xlsxwriter in constant_memory mode, so a million rows need bounded memory.
Run with the project's venv (`.venv/bin/python`): it needs xlsxwriter and phonenumbers.
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import hashlib
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for primepre's rules

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from primepre.customers.phones import normalise_phone
from primepre.customers.regions import parse_region

FIRST_NAMES = [
    # Akan day names (male, female) and their Fante forms
    "Kwasi", "Akwasi", "Kwadwo", "Kojo", "Kwabena", "Kwaku", "Yaw", "Kofi", "Kwame", "Kwamena", "Kobina", "Ekow",
    "Kwesi", "Fiifi", "Akosua", "Adwoa", "Abena", "Akua", "Yaa", "Afua", "Efua", "Ama", "Esi", "Araba", "Ekua", "Aba",
    # Christian and Ewe names
    "Emmanuel", "Samuel", "Daniel", "Isaac", "Prince", "Ebenezer", "Felix", "Francis", "Joseph", "Richard", "Michael",
    "Grace", "Mercy", "Comfort", "Patience", "Gifty", "Felicia", "Vida", "Abigail", "Priscilla", "Esther", "Joyce",
    "Selorm", "Elikem", "Sena", "Mawuli", "Delali", "Edem", "Dzifa", "Yayra",
    # Northern and Muslim names
    "Ibrahim", "Abdul", "Fatima", "Amina", "Mohammed", "Zainab", "Alhassan", "Rashid", "Nana",
]  # fmt: skip

SURNAMES = [
    "Mensah", "Owusu", "Boateng", "Asante", "Osei", "Agyei", "Amoah", "Addo", "Appiah", "Ofori", "Acheampong", "Adjei",
    "Ansah", "Antwi", "Opoku", "Darko", "Sarpong", "Donkor", "Kyei", "Frimpong", "Gyamfi", "Nkrumah", "Quaye",
    "Quartey", "Tetteh", "Lamptey", "Laryea", "Nortey", "Okine", "Armah", "Annan", "Aidoo", "Baidoo", "Essien", "Eshun",
    "Arthur", "Quansah", "Yeboah", "Bonsu", "Danquah", "Badu", "Amponsah", "Asamoah", "Kumi", "Manu", "Oduro",
    "Bediako", "Nyarko", "Amankwah", "Kwarteng", "Fosu", "Agyeman", "Dogbe", "Agbeko", "Kpodo", "Tsikata", "Mahama",
    "Abubakar", "Iddrisu", "Fuseini", "Issah", "Sulemana", "Asante-Nkrumah", "Owusu-Ansah",
]  # fmt: skip

COMPANY_WORDS = [
    "God's Grace", "Adom", "Nyame Dua", "Sika", "Ebenezer", "Divine", "Golden", "Royal", "Blessed", "Onyame Bekyere",
    "Abusua", "Unity", "Hope", "Favour", "Kente", "Shalom",
]  # fmt: skip
COMPANY_SUFFIXES = ["Enterprise", "Ventures", "Trading", "Ltd", "Company Ltd", "Trading Co.", "& Sons", "Imports"]
EMAIL_DOMAINS = ["gmail.com"] * 6 + ["yahoo.com"] * 2 + ["hotmail.com", "outlook.com", "yahoo.co.uk", "icloud.com"]

# Ghana mobile prefixes (national, without the trunk 0), weighted towards MTN as customer sheets are.
MOBILE_PREFIXES = ["24"] * 4 + ["54"] * 3 + ["55"] * 3 + ["59"] * 2 + ["20", "50", "26", "27", "57"]

# (spellings, weight): codes, ISO codes, names, "… Region", capitals and old names; Accra and Kumasi dominate.
REGION_SPELLINGS: list[tuple[list[str], int]] = [
    (["Greater Accra", "GH-AA", "accra", "Greater Accra Region", "GREATER ACCRA", "Gt. Accra", "Tema", "AA"], 35),
    (["Ashanti", "GH-AH", "Ashanti Region", "Kumasi", "ashanti", "ASHANTI", "Asante"], 20),
    (["Central", "GH-CP", "Central Region", "Cape Coast"], 6),
    (["Eastern", "Eastern Region", "GH-EP", "Koforidua"], 6),
    (["Western", "Western Region", "Takoradi", "GH-WP"], 5),
    (["Volta", "Volta Region", "GH-TV", "Ho"], 5),
    (["Northern", "Northern Region", "Tamale", "GH-NP"], 4),
    (["Bono", "Brong-Ahafo", "Sunyani", "GH-BO"], 3),
    (["Bono East", "Techiman", "GH-BE"], 2),
    (["Ahafo", "GH-AF", "Goaso"], 1),
    (["Upper East", "Bolgatanga", "GH-UE", "UER"], 2),
    (["Upper West", "Wa", "GH-UW"], 1),
    (["Oti", "GH-OT", "Dambai"], 1),
    (["Savannah", "GH-SV", "Damongo"], 1),
    (["North East", "GH-NE", "Nalerigu"], 1),
    (["Western North", "GH-WN", "Sefwi Wiawso"], 1),
]

UNKNOWN_REGIONS = ["Lagos", "Abuja", "Lome", "Accra North", "Greater Acra", "Northen", "Kumasi Central", "Region 17"]

HEADER_STYLES: dict[str, list[str]] = {
    # field keys: mark, first, last, name (full name in one cell), phone, email, region, company
    "standard": ["Shipping Mark", "First Name", "Last Name", "Phone Number", "Email Address", "Region", "Company"],
    "short": ["Mark", "Surname", "First Name", "Tel", "Email", "Region", "Company Name"],
    "fullname": ["Client Mark", "Name", "Mobile", "Email"],
}
HEADER_KEYS: dict[str, list[str]] = {
    "standard": ["mark", "first", "last", "phone", "email", "region", "company"],
    "short": ["mark", "last", "first", "phone", "email", "region", "company"],
    "fullname": ["mark", "name", "phone", "email"],
}

BAD_KINDS = ["invalid_phone", "missing_last_name", "bad_email", "duplicate_phone", "duplicate_mark", "unknown_region"]
# How often each defect is planted (`--bad-mix`). "phones": most failing rows have an invalid phone, as in the files
# staff upload (issue #15's independent file: "10% failing rows, mostly invalid phones"); "even": one kind as often as
# another.
BAD_MIXES: dict[str, dict[str, int]] = {
    "phones": {"invalid_phone": 6, **dict.fromkeys(BAD_KINDS[1:], 1)},
    "even": dict.fromkeys(BAD_KINDS, 1),
}

# Values that normalise_phone must refuse, as they appear in real sheets.
BAD_PHONE_SHAPES = ["short", "no_such_prefix", "rounded", "two_numbers", "text", "long", "zeros"]

FIXED_CREATED = dt.datetime(2025, 1, 1, 12, 0, 0)  # naive: xlsx document properties hold no zone
PHONE_MULTIPLIER = 387_419  # coprime with 10**6: a per-block counter maps to distinct tails


def _rng(seed: int) -> random.Random:
    """Seeded, so a seed always gives the same file; this is test data, not a secret."""
    return random.Random(seed)  # noqa: S311


class Num(int):
    """A phone written as a NUMBER cell in xlsx (Excel dropped the leading zero or the +); plain digits in csv."""


@dataclass
class Plan:
    """What was generated, for the summary line and the meta file the benchmark driver reads."""

    rows: int = 0
    planted: collections.Counter[str] = field(default_factory=collections.Counter)
    with_email: int = 0
    marks_respelled: int = 0
    with_company: int = 0
    numeric_phone_cells: int = 0

    @property
    def planted_total(self) -> int:
        return sum(self.planted.values())


def _mobile_blocks(rng: random.Random) -> tuple[list[str], list[int]]:
    """National prefixes with their first subscriber digit, each checked with phonenumbers.is_valid_number; weights.

    Ghana's numbering plan decides validity on these leading digits (fixed length 9), so checking every block on a few
    tails covers every number built from it; rows are re-checked with normalise_phone as well (all with `--verify`).
    """
    blocks, weights = [], []
    for prefix in sorted(set(MOBILE_PREFIXES)):
        for digit in "0123456789":
            block = prefix + digit
            samples = ["000000", "999999", "123456", f"{rng.randrange(10**6):06d}"]
            if all(_is_valid_gh(block + tail) for tail in samples):
                blocks.append(block)
                weights.append(MOBILE_PREFIXES.count(prefix))
    return blocks, weights


class PhoneBook:
    """Unique valid numbers: a per-block counter through a permutation of the 10**6 tails (no set of used numbers)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.blocks, self.weights = _mobile_blocks(rng)
        self.offsets = [rng.randrange(10**6) for _ in self.blocks]
        self.used = [0] * len(self.blocks)

    def next(self) -> str:
        """A number never returned before, national form without the trunk 0: `241234567`."""
        index = self.rng.choices(range(len(self.blocks)), weights=self.weights)[0]
        count = self.used[index]
        if count >= 10**6:
            raise SystemExit("generator limit: a phone block ran out of numbers")
        self.used[index] = count + 1
        return self.blocks[index] + f"{(count * PHONE_MULTIPLIER + self.offsets[index]) % 10**6:06d}"


def _is_valid_gh(national: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse("0" + national, "GH"))
    except phonenumbers.NumberParseException:
        return False


def _format_phone(national: str, rng: random.Random) -> str | Num:
    """One valid number (`241234567`, without trunk 0) written the way a person or Excel would."""
    pick = rng.random()
    if pick < 0.33:
        return "0" + national
    if pick < 0.48:
        return "+233" + national
    if pick < 0.58:
        return f"233 {national[:2]} {national[2:5]} {national[5:]}"
    if pick < 0.68:
        return f"0{national[:2]}-{national[2:5]}-{national[5:]}"
    if pick < 0.73:
        return f"0{national[:2]} {national[2:5]} {national[5:]}"
    if pick < 0.75:
        return f"+233 (0){national[:2]} {national[2:5]} {national[5:]}"
    if pick < 0.90:
        return Num(int(national))  # the lost leading zero
    return Num(int("233" + national))  # the lost +


def _bad_phone(rng: random.Random, national: str) -> str | Num:
    shape = rng.choice(BAD_PHONE_SHAPES)
    if shape == "short":
        return "0" + national[:-1]
    if shape == "no_such_prefix":
        return rng.choice(["058", "052", "021"]) + national[2:]  # ranges with no numbers in Ghana's numbering plan
    if shape == "rounded":
        return f"2.33{national[:2]}E+11"  # what Excel shows for a number column it shortened
    if shape == "two_numbers":
        return f"0{national} / 0{national[::-1]}"
    if shape == "text":
        return rng.choice(["N/A", "none", "call office", "-"])
    if shape == "long":
        return "0" + national + "12"
    return "0000000000"


def _region(rng: random.Random, weights: list[int]) -> str:
    if rng.random() < 0.15:
        return ""
    spellings = rng.choices(REGION_SPELLINGS, weights=weights)[0][0]
    return rng.choice(spellings)


def _company(rng: random.Random, first: str, last: str) -> str:
    pick = rng.random()
    if pick < 0.4:
        return f"{last} {rng.choice(COMPANY_SUFFIXES)}"
    if pick < 0.7:
        return f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
    return f"{first} {last} {rng.choice(COMPANY_SUFFIXES)}"


def _email(rng: random.Random, first: str, last: str, row: int) -> str:
    """Unique through the row number; some typed in mixed case (stored lower-case)."""
    local = rng.choice([f"{first}.{last}{row}", f"{first}{last}{row}", f"{first[0]}{last}.{row}", f"{last}.{row}"])
    local = local.replace("'", "").replace(" ", "")
    email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
    return email if rng.random() < 0.2 else email.lower()


def _bad_email(rng: random.Random, first: str, last: str) -> str:
    return rng.choice(
        [
            f"{first.lower()}.{last.lower()}@gmail",
            f"{first.lower()} {last.lower()}@yahoo.com",
            f"{first.lower()}@@gmail.com",
            f"{first.lower()}.{last.lower()}.gmail.com",
            f"{first.lower()}@gmail..com",
        ]
    )


def _messy(rng: random.Random, name: str) -> str:
    """Names as typed: mostly clean, sometimes upper-case, lower-case or with stray spaces."""
    pick = rng.random()
    if pick < 0.05:
        return name.upper()
    if pick < 0.08:
        return name.lower()
    if pick < 0.11:
        return f" {name}  "
    return name


def _mark_spelling(rng: random.Random, mark: str) -> str:
    """A good row's mark as people type it (`PM12 KOFI`, `pm12 kofi`, `PM12KOFI`, ` PM 12 Kofi `): a third of the
    rows differ from the canonical spelling, every spelling folds to the same unique mark_key."""
    pick = rng.random()
    if pick < 0.67:
        return mark
    prefix, _, name = mark.partition(" ")
    variants = [
        mark.lower(),
        f"{prefix} {name.title()}",
        f"{prefix.title()} {name.title()}",
        prefix + name,
        f"{prefix}  {name}",
        f" {mark} ",
        f"PM {prefix[2:]} {name}",
        f"{prefix}-{name}",
        f"{prefix.lower()}-{name.lower()}",
    ]
    return variants[int((pick - 0.67) / 0.33 * len(variants)) % len(variants)]


def _mark_variant(rng: random.Random, mark: str) -> str:
    """The same mark written differently (`PM12 KOFI` → `pm12-kofi`): one customer for mark_key, so a duplicate."""
    return rng.choice([mark.lower().replace(" ", "-"), mark.replace(" ", ""), mark.replace(" ", "  "), mark.title()])


def self_check() -> None:
    """The planted defects must really be defects, and the good spellings really good, under the project's rules."""
    for spellings, _ in REGION_SPELLINGS:
        for spelling in spellings:
            if not parse_region(spelling):
                raise SystemExit(f"generator bug: region spelling {spelling!r} is not understood by parse_region")
    for spelling in UNKNOWN_REGIONS:
        if parse_region(spelling) is not None:
            raise SystemExit(f"generator bug: 'unknown' region {spelling!r} is understood by parse_region")
    rng = _rng(0)
    for _ in range(50):
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        email = _bad_email(rng, first, last)
        try:
            validate_email(email)
        except ValidationError:
            continue
        raise SystemExit(f"generator bug: 'bad' email {email!r} passes Django's validate_email")


def _check_phone(value: str | Num, national: str | None, row_number: int) -> None:
    """A good phone must normalise to its number (phonenumbers.is_valid_number inside); a bad one must be refused."""
    result = normalise_phone(value, "GH")
    if national is None and result.ok:
        raise SystemExit(f"generator bug: row {row_number}: planted bad phone {value!r} is accepted")
    if national is not None and result.e164 != "+233" + national:
        raise SystemExit(f"generator bug: row {row_number}: phone {value!r} reads as {result}, not +233{national}")


def generate_rows(
    rows: int,
    seed: int,
    bad_fraction: float,
    header_style: str,
    plan: Plan,
    verify: bool = False,
    bad_mix: str = "phones",
) -> Iterator[list[str | Num | None]]:
    """Yield the data rows (header excluded) in file order; fills `plan` as it goes."""
    rng = _rng(seed)
    phones = PhoneBook(rng)
    region_weights = [weight for _, weight in REGION_SPELLINGS]
    keys = HEADER_KEYS[header_style]
    kinds = [kind for kind in BAD_KINDS if kind != "unknown_region" or "region" in keys]
    kind_weights = [BAD_MIXES[bad_mix][kind] for kind in kinds]
    recent_good: collections.deque[tuple[str, str]] = collections.deque(maxlen=2000)  # (national phone, mark)

    for index in range(rows):
        row_number = index + 2  # the row number a user sees in Excel (header is row 1)
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(SURNAMES)
        national = phones.next()
        mark = f"PM{index + 1} {first.upper()}"
        values: dict[str, str | Num | None] = {
            "mark": _mark_spelling(rng, mark),
            "first": _messy(rng, first),
            "last": _messy(rng, last),
            "phone": _format_phone(national, rng),
            "email": _email(rng, first, last, row_number) if rng.random() < 0.6 else None,
            "region": _region(rng, region_weights),
            "company": _company(rng, first, last) if rng.random() < 0.2 else None,
        }
        kind = None
        if rng.random() < bad_fraction:
            kind = rng.choices(kinds, weights=kind_weights)[0]
            if kind.startswith("duplicate") and not recent_good:
                kind = "invalid_phone"
        if kind == "invalid_phone":
            values["phone"] = _bad_phone(rng, national)
        elif kind == "missing_last_name":
            values["last"] = rng.choice([None, "", "  "])
        elif kind == "bad_email":
            values["email"] = _bad_email(rng, first, last)
        elif kind == "duplicate_phone":
            values["phone"] = _format_phone(rng.choice(recent_good)[0], rng)  # same number, likely another format
        elif kind == "duplicate_mark":
            values["mark"] = _mark_variant(rng, rng.choice(recent_good)[1])
        elif kind == "unknown_region":
            values["region"] = rng.choice(UNKNOWN_REGIONS)
        if kind:
            plan.planted[kind] += 1
        else:
            recent_good.append((national, mark))
        if kind == "invalid_phone":
            _check_phone(values["phone"], None, row_number)  # always: only a few percent of rows
        elif kind != "duplicate_phone" and (verify or index % 50 == 0):
            _check_phone(values["phone"], national, row_number)

        plan.rows += 1
        plan.with_email += values["email"] is not None
        plan.marks_respelled += values["mark"] != mark and kind != "duplicate_mark"
        plan.with_company += values["company"] is not None
        plan.numeric_phone_cells += isinstance(values["phone"], Num)
        if "name" in keys:
            last_value = values["last"]
            values["name"] = values["first"] if not (last_value or "").strip() else f"{values['first']} {last_value}"
        yield [values[key] for key in keys]


def write_xlsx(path: Path, header: list[str], rows: Iterator[list[str | Num | None]]) -> None:
    """constant_memory: each row is flushed to disk once the next starts, so memory does not grow with the file."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": FIXED_CREATED})  # else docProps carries the time: same seed, other bytes
    sheet = workbook.add_worksheet("Customers")
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, header, bold)
    for row_index, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None or value == "":
                continue  # an empty cell, as Excel leaves it
            if isinstance(value, Num):
                sheet.write_number(row_index, col, int(value))
            else:
                sheet.write_string(row_index, col, value)
    workbook.close()


def write_csv(path: Path, header: list[str], rows: Iterator[list[str | Num | None]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if value is None else str(value) for value in row])


def generator_version() -> str:
    """A hash of this file: generated files are reused only if the generator did not change since."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def meta_path(out: Path) -> Path:
    return out.with_name(out.name + ".meta.json")


def generate(
    rows: int,
    fmt: str,
    out: Path,
    seed: int = 1,
    bad_fraction: float = 0.02,
    header_style: str = "standard",
    verify: bool = False,
    bad_mix: str = "phones",
) -> dict[str, Any]:
    """Write the file and its `.meta.json`; return the meta (parameters, planted bad rows, seconds)."""
    if header_style == "random":
        header_style = _rng(seed).choice(sorted(HEADER_STYLES))
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    self_check()
    plan = Plan()
    tmp = out.with_name(out.name + ".part")
    row_iter = generate_rows(rows, seed, bad_fraction, header_style, plan, verify=verify, bad_mix=bad_mix)
    writer = write_xlsx if fmt == "xlsx" else write_csv
    writer(tmp, HEADER_STYLES[header_style], row_iter)
    tmp.replace(out)
    meta: dict[str, Any] = {
        "params": {
            "rows": rows,
            "format": fmt,
            "seed": seed,
            "bad_fraction": bad_fraction,
            "header_style": header_style,
            "bad_mix": bad_mix,
            "generator": generator_version(),
        },
        "header": HEADER_STYLES[header_style],
        "planted": dict(sorted(plan.planted.items())),
        "planted_total": plan.planted_total,
        "with_email": plan.with_email,
        "marks_respelled": plan.marks_respelled,
        "with_company": plan.with_company,
        "numeric_phone_cells": plan.numeric_phone_cells if fmt == "xlsx" else 0,
        "bytes": out.stat().st_size,
        "seconds": round(time.perf_counter() - started, 3),
    }
    meta_path(out).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--format", choices=["xlsx", "csv"], required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad-fraction", type=float, default=0.02)
    parser.add_argument("--header-style", choices=[*sorted(HEADER_STYLES), "random"], default="standard")
    parser.add_argument(
        "--bad-mix", choices=sorted(BAD_MIXES), default="phones", help="how often each defect is planted"
    )
    parser.add_argument(
        "--verify", action="store_true", help="re-check every generated good phone with phonenumbers (slower)"
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or not 0 <= args.bad_fraction < 1:
        parser.error("--rows must be ≥ 1 and --bad-fraction in [0, 1)")
    meta = generate(
        args.rows, args.format, args.out, args.seed, args.bad_fraction, args.header_style, args.verify, args.bad_mix
    )
    planted = ", ".join(f"{kind} {count}" for kind, count in meta["planted"].items()) or "none"
    print(
        f"wrote {args.out} ({meta['bytes']:,} bytes, {args.rows:,} rows, header {meta['params']['header_style']}) "
        f"in {meta['seconds']} s"
    )
    print(f"planted {meta['planted_total']} bad rows: {planted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
