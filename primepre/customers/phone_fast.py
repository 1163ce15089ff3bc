"""The phone fast path: E.164 for the common well-formed cells without phonenumbers' full parse.

Most cells of a customer file are already tidy (`0241234567`, `+233 24 123 4567`, a numeric cell that lost its
leading zero). For those, `fast_e164` splits off the national number itself and checks it against the region's
numbering plan, precompiled here once per region, instead of `phonenumbers.parse` + `is_valid_number`. It only ever
answers "valid"; anything it cannot read confidently, or finds invalid, is left to the full path in `phones.py`,
which alone explains what is wrong. Tests pin both halves to the library: `is_valid_national` against
`phonenumbers.is_valid_number` for every region, and `normalise_phone` against the full path alone.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata

__all__ = ["fast_e164", "fast_refusal", "is_valid_national"]


@dataclass(frozen=True, slots=True)
class _RegionPlan:
    country_code: str
    national_prefix: str
    longest_national: int
    # Whether `fast_refusal` may answer for this region: dialled abroad with 00, a national prefix of 0 (so neither a
    # number written with its trunk 0 nor one with a + can be read any other way), and a precompiled validity plan.
    refuses: bool = False


@functools.lru_cache(maxsize=64)
def _region_plan(region: str) -> _RegionPlan | None:
    """The fast path's view of a region, or None where national numbers need phonenumbers' full parsing rules."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.national_prefix_transform_rule:
        return None
    prefix = metadata.national_prefix or ""
    if (metadata.national_prefix_for_parsing or prefix) != prefix:
        return None
    lengths = metadata.general_desc.possible_length or (15,)
    refuses = metadata.international_prefix == "00" and prefix == "0" and _validity_plan(region) is not None
    return _RegionPlan(str(metadata.country_code), prefix, max(lengths), refuses)


# phonenumbers' number-type descriptions (`_number_type_helper` tries them in this order; any match means valid).
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


class _ValidityPlan:
    """`is_valid_number` for a national number of one region, precompiled.

    phonenumbers re-looks-up and re-checks up to ten descriptions through its regex cache per call. Here: the general
    description's lengths and pattern, then one alternation of every type description that admits the number's length
    (a description without lengths admits any), built once per length: two regex calls. `bench/micro.py` measures
    both (figures in bench/README.md).
    """

    def __init__(self, metadata: Any) -> None:
        general = metadata.general_desc
        self.general_lengths = frozenset(general.possible_length or ())
        self.general = re.compile(general.national_number_pattern)
        names = list(_TYPE_DESCS)
        if not metadata.same_mobile_and_fixed_line_pattern:
            names.append("mobile")
        self.types = [
            (frozenset(desc.possible_length or ()), desc.national_number_pattern)
            for desc in (getattr(metadata, name, None) for name in names)
            if desc is not None and desc.national_number_pattern
        ]
        self.by_length: dict[int, re.Pattern[str] | None] = {}

    def _types_for(self, length: int) -> re.Pattern[str] | None:
        if length not in self.by_length:
            patterns = [pattern for lengths, pattern in self.types if not lengths or length in lengths]
            self.by_length[length] = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
        return self.by_length[length]

    def is_valid(self, national: str) -> bool:
        length = len(national)
        if self.general_lengths and length not in self.general_lengths:
            return False
        if self.general.fullmatch(national) is None:
            return False
        types = self._types_for(length)
        return types is not None and types.fullmatch(national) is not None


@functools.lru_cache(maxsize=64)
def _validity_plan(region: str) -> _ValidityPlan | None:
    """Only for a calling code with a single region: where several share one (+1, +44, +7), `is_valid_number` first
    picks the region by the number itself."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())) != 1:
        return None
    if metadata.general_desc is None or not metadata.general_desc.national_number_pattern:
        return None
    return _ValidityPlan(metadata)


def is_valid_national(national: str, code: str, region: str) -> bool:
    """`phonenumbers.is_valid_number` for the national number `national` (digits) of calling code `code` in `region`,
    through the precompiled plan where the region has one."""
    plan = _validity_plan(region)
    if plan is None:
        number = phonenumbers.PhoneNumber(country_code=int(code), national_number=int(national))
        return phonenumbers.is_valid_number(number)
    return plan.is_valid(national)


_FAST_SHAPE = re.compile(r"^\+?[0-9][0-9 \-]{5,20}$")


def fast_e164(raw: object, region: str) -> str | None:
    """E.164 for the common well-formed shapes (`0241234567`, `+233 24…`, `241234567.0` cells), or None to say
    "ask the full path": never a refusal. `region` is upper-case, as `normalise_phone` passes it."""
    if type(raw) is float:
        if not raw.is_integer() or raw <= 0 or raw >= 1e15:
            return None
        text = str(int(raw))
    elif type(raw) is int:
        if raw <= 0 or raw >= 10**15:
            return None
        text = str(raw)
    elif type(raw) is str and raw.isascii() and _FAST_SHAPE.match(raw):
        text = raw.replace(" ", "").replace("-", "")
    elif type(raw) is str and raw.isascii() and "(0)" in raw and _FAST_SHAPE.match(raw.replace("(0)", "", 1)):
        # `+233 (0)24 …`: the trunk zero in brackets the full path drops (`_TRUNK_IN_PARENS`), a common spelling.
        text = raw.replace("(0)", "", 1).replace(" ", "").replace("-", "")
    else:
        return None
    plan = _region_plan(region)
    if plan is None or not 6 <= len(text.lstrip("+")) <= 15:
        return None  # the full path explains lengths
    code = plan.country_code
    if text.startswith("+"):
        if not text.startswith(code, 1):
            return None
        national = text[1 + len(code) :]
    elif text.startswith("00"):
        return None
    elif plan.national_prefix and text.startswith(plan.national_prefix):
        national = text[len(plan.national_prefix) :]
    elif text.startswith(code):
        if len(text) <= plan.longest_national:
            return None  # could be a national number that happens to start with the code: the full path decides
        national = text[len(code) :]  # 233241234567: a numeric cell that lost its plus
    else:
        national = text  # the leading zero Excel dropped
    if not national or national[0] == "0" or not national.isdigit():
        return None
    if not is_valid_national(national, code, region):
        return None
    return f"+{code}{national}"


def fast_refusal(raw: object, region: str) -> str | None:
    """The number as the full path's refusal shows it (`0281234567`, `+233281234567`) when the full path would refuse
    `raw` with "… is not a valid phone number.", else None: "ask the full path". Called only after `fast_e164`
    declined, so a file's invalid numbers (a tenth of some files' rows) skip phonenumbers' parse (what that saves:
    bench/README.md, "Throughput"). Two shapes only, both of which the full path reads as this region's number and
    nothing else: the trunk 0 and a national number (country codes never start with 0, and 00 is the region's only
    international prefix), or +code and a national number without a trunk 0 (nothing left for the parse to strip).
    A test pins this to the full path (`tests/customers/test_phones.py`)."""
    if type(raw) is not str or not raw.isascii() or not _FAST_SHAPE.match(raw):
        return None
    plan = _region_plan(region)
    text = raw.replace(" ", "").replace("-", "")
    validity = _validity_plan(region)
    if plan is None or not plan.refuses or validity is None or not 6 <= len(text.lstrip("+")) <= 15:
        return None
    if text.startswith("+"):
        national = text[1 + len(plan.country_code) :]
        if not text.startswith(plan.country_code, 1) or not national.isdigit() or national[0] == "0":
            return None
        return text if not validity.is_valid(national) else None
    if text[0] != "0" or text[1] == "0":
        return None
    # The parse keeps the trunk 0 as part of the number when the number without it is not viable: both must fail.
    return text if not validity.is_valid(text[1:]) and not validity.is_valid(text) else None
