"""The customer sheet: the import engine's first schema. One file row → one CleanCustomer, or every problem of the row.

Plain functions over cell values, built on the directory's own rules (phones.py, marks.py, regions.py), so a row the
import accepts is a customer the model accepts. No serializers and no queries: this runs for every row.
"""

from __future__ import annotations

import functools
import logging
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator, EmailValidator, validate_email

from primepre.common.caught import release
from primepre.common.csvsafe import unguard
from primepre.imports.schema import (
    DedupeKey,
    FieldError,
    FieldSpec,
    Filler,
    ImportContext,
    ImportSchema,
    OptionSpec,
    leniency_option,
)

from .marks import MARK_KEY_MAX_LENGTH, MARK_MAX_LENGTH, mark_key
from .models import Customer, CustomerType, normalise_email
from .phone_fast import fast_e164
from .phones import normalise_phone
from .regions import Region, parse_region
from .text import tidy_text

# What a shipping mark usually looks like in a sheet, to suggest a column with no known header: `PM9 KWAKU`,
# `PM4-KOFI`, `AB12 ESI`.
_MARK_SHAPE = re.compile(r"^[A-Za-z]{1,4}\s?-?\d{1,5}[\s-]+[A-Za-z][A-Za-z .'-]*$")

logger = logging.getLogger("primepre.imports")
# Cells a row can do without: with the "import the row without them" option, an invalid one is left out (a warning)
# instead of failing the row. Names, phone and mark are what a customer is; these only describe them.
OPTIONAL_FIELDS = frozenset({"email", "region", "company_name", "customer_type"})
UPDATABLE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "shipping_mark",
    "email",
    "region",
    "company_name",
    "customer_type",
)


def _max(name: str) -> int:
    return Customer._meta.get_field(name).max_length


FIELDS = (
    FieldSpec("shipping_mark", "Shipping Mark", (
        "shipping mark", "mark", "client mark", "customer mark", "ship mark", "shipping marks", "marks",
        "shipping code", "mark code", "shippingmark", "sm",
    ), MARK_MAX_LENGTH),
    FieldSpec("first_name", "First Name", (
        "first name", "firstname", "first", "given name", "given names", "forename", "fname", "other names",
    ), _max("first_name")),
    FieldSpec("last_name", "Last Name", (
        "last name", "lastname", "surname", "family name", "last", "lname", "sur name",
    ), _max("last_name")),
    FieldSpec("full_name", "Name", (
        "name", "full name", "fullname", "customer name", "client name", "customer", "names",
    )),
    FieldSpec("phone", "Phone", (
        "phone", "phone number", "phone no", "phone num", "phonenumber", "tel", "tel no", "telephone",
        "telephone number", "mobile", "mobile number", "mobile no", "mobile phone", "contact", "contact number",
        "contact no", "cell", "cell phone", "cellphone", "whatsapp", "whatsapp number", "msisdn", "number",
    )),
    FieldSpec("email", "Email", ("email", "email address", "e-mail", "e-mail address", "mail", "emailaddress"),
              _max("email")),
    FieldSpec("region", "Region", ("region", "region name", "location region", "state")),
    FieldSpec("company_name", "Company", (
        "company", "company name", "business", "business name", "organisation", "organization", "firm",
    ), _max("company_name")),
    FieldSpec("customer_type", "Customer Type", ("customer type", "type", "client type", "account type")),
)  # fmt: skip
SPECS = {spec.name: spec for spec in FIELDS}
NAME_MAX = min(SPECS["first_name"].max_length, SPECS["last_name"].max_length)
# The template of the system we replace: no header, A mark, B first name, C last name, D email, E phone.
LEGACY_LAYOUT = {"shipping_mark": 0, "first_name": 1, "last_name": 2, "email": 3, "phone": 4}

_CUSTOMER_TYPES = {
    "individual": CustomerType.INDIVIDUAL,
    "ind": CustomerType.INDIVIDUAL,
    "person": CustomerType.INDIVIDUAL,
    "personal": CustomerType.INDIVIDUAL,
    "private": CustomerType.INDIVIDUAL,
    "business": CustomerType.BUSINESS,
    "biz": CustomerType.BUSINESS,
    "company": CustomerType.BUSINESS,
    "corporate": CustomerType.BUSINESS,
    "organisation": CustomerType.BUSINESS,
    "organization": CustomerType.BUSINESS,
}

# Django's own email patterns, compiled once: its validator reaches them through lazy proxies on every call
# (bench/micro.py prints both costs). The domain pattern is used for ASCII domains only, without its Unicode range
# (`¡-\uffff`): compiling that range case-insensitively takes a few hundred ms, paid by every process that imports
# this module. On ASCII text the range matches nothing the ASCII letters do not (those have no case partners in it),
# and a narrower class can only refuse more: anything refused here is asked of `validate_email` itself.
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
# Built from the validator's parts: reading `domain_regex.pattern` would compile Django's lazy pattern.
EMAIL_ASCII_DOMAIN_PATTERN = (
    "^" + EmailValidator.hostname_re + EmailValidator.domain_re + EmailValidator.tld_no_fqdn_re + r"\Z"
).replace(DomainNameValidator.ul, "")
_EMAIL_ASCII_DOMAIN = re.compile(EMAIL_ASCII_DOMAIN_PATTERN, re.IGNORECASE)


def email_is_valid(email: str) -> bool:
    """Exactly `validate_email`, its steps in its order on compiled patterns: its answer for any address with an
    ASCII domain, which is not an address literal (`[…]`) or allowlisted (`localhost`); anything else asked of it.
    (Its first refusal in a process compiles its Unicode domain pattern, a cost bench/README.md measures.)"""
    if not email or "@" not in email or len(email) > 320:
        return False
    user, _, domain = email.rpartition("@")
    if not _EMAIL_USER.match(user):
        return False
    if domain.isascii():
        if _EMAIL_ASCII_DOMAIN.match(domain):
            return True
        if domain not in validate_email.domain_allowlist and not domain.startswith("["):
            return False
    try:
        validate_email(email)
    except ValidationError as exc:
        release(exc)
        return False
    return True


def cell_text(raw: object) -> str:
    """A text cell tidied; one our error report wrote as `'=…` (formula injection guard) reads back as `=…`."""
    if type(raw) is str and raw.isascii():
        # tidy_text's own steps for the common cell, without a call per cell (five cells a row, every row); the
        # tests pin this to tidy_text.
        text = " ".join(raw.split())
        if text.isprintable() and text[:1] != "'":
            return text
    text = tidy_text(raw)
    if text[:1] == "'" and isinstance(raw, str):
        # The guard is judged on the cell as written (tidying turns the TAB or line break it may guard into a space).
        text = tidy_text(unguard(raw.strip()))
    return text


@dataclass(slots=True)
class CleanCustomer:
    """A row that passed every check that needs no database. An upsert changes only the fields the file gave a value
    for (`provided()`), so a blank cell never wipes what a customer already has."""

    row_number: int
    first_name: str
    last_name: str
    phone: str
    shipping_mark: str
    mark_key: str
    email: str | None
    region: str
    company_name: str
    customer_type: str
    values: tuple[Any, ...]
    mark_generated: bool = False
    type_given: bool = False

    def provided(self) -> list[str]:
        """The fields the file gave a value for (only these change in an upsert)."""
        names = ["first_name", "last_name", "phone"]
        if not self.mark_generated:
            names.append("shipping_mark")
        if self.email:
            names.append("email")
        if self.region:
            names.append("region")
        if self.company_name:
            names.append("company_name")
        if self.type_given:
            names.append("customer_type")
        return names


class MarkRule:
    """Builds a shipping mark for a row without one, from a rule such as `PM {FIRST_NAME:6}` (6 letters of the first
    name, upper case). Uniqueness is the writer's job: it appends a counter (`PM KOFI 2`) until the key is free."""

    _PLACEHOLDER = re.compile(r"\{([A-Z_]+)(?::(\d+))?\}")
    _SOURCES = {"FIRST_NAME": "first_name", "LAST_NAME": "last_name", "COMPANY": "company_name"}

    def __init__(self, rule: str) -> None:
        unknown = {name for name, _ in self._PLACEHOLDER.findall(rule)} - {*self._SOURCES, "PHONE_LAST4"}
        if unknown:
            raise ValueError(f"Unknown placeholder(s) in mark rule {rule!r}: {', '.join(sorted(unknown))}")
        self.rule = rule

    def base(self, row: CleanCustomer) -> str:
        def replace(match: re.Match[str]) -> str:
            name, length = match.group(1), match.group(2)
            if name == "PHONE_LAST4":
                return row.phone[-4:]
            value = "".join(ch for ch in getattr(row, self._SOURCES[name]) if ch.isalnum()).upper()
            return value[: int(length)] if length else value

        return tidy_text(self._PLACEHOLDER.sub(replace, self.rule))[: MARK_MAX_LENGTH - 6]


# --- one cleaner per field: each returns the clean value and appends the field's problems to `errors` -----------


def _too_long(name: str, text: str) -> FieldError:
    spec = SPECS[name]
    return FieldError(
        name, "too_long", f"{spec.label.capitalize()} is {len(text)} characters; at most {spec.max_length}."
    )


def clean_name(name: str, text: str, errors: list[FieldError]) -> str:
    if not text:
        errors.append(FieldError(name, "required", f"{SPECS[name].label.capitalize()} is missing."))
    elif len(text) > SPECS[name].max_length:
        errors.append(_too_long(name, text))
    return text


def clean_phone(raw: object, region: str, errors: list[FieldError]) -> str | None:
    """`region` upper-case. The fast path first, as `normalise_phone` takes it, without its result object: most
    cells are well-formed numbers and this runs for every row."""
    try:
        e164 = fast_e164(raw, region)
    except Exception:  # noqa: BLE001 - normalise_phone's contract: the full path decides, never raises
        e164 = None
    if e164:
        return e164
    result = normalise_phone(raw, region)
    if result.e164 is None:
        errors.append(FieldError("phone", result.code or "invalid_phone", result.message or "Not a phone number."))
    return result.e164


def clean_mark(raw: object, generate: bool, errors: list[FieldError]) -> tuple[str, str, bool]:
    """(mark as typed, its key, whether the writer must generate one)."""
    mark = cell_text(raw)
    key = mark_key(mark)
    if not mark:
        if generate:
            return "", "", True
        errors.append(FieldError("shipping_mark", "required", "Shipping mark is missing."))
    elif len(mark) > MARK_MAX_LENGTH:
        errors.append(_too_long("shipping_mark", mark))
    elif not key:
        errors.append(FieldError("shipping_mark", "invalid_mark", "A shipping mark needs a letter or digit."))
    elif len(key) > MARK_KEY_MAX_LENGTH:
        errors.append(FieldError("shipping_mark", "too_long", "Shipping mark is too long."))
    return mark, key, False


def clean_email(raw: object, errors: list[FieldError]) -> str | None:
    email = normalise_email(cell_text(raw))
    if email:
        if len(email) > SPECS["email"].max_length:
            errors.append(
                FieldError("email", "too_long", f"Email is longer than {SPECS['email'].max_length} characters.")
            )
        elif not email_is_valid(email):
            errors.append(FieldError("email", "invalid_email", f"{email!r} is not a valid email address."))
    return email


@functools.lru_cache(maxsize=4096)
def _region(raw: str) -> str | None:
    return parse_region(raw)


def clean_region(raw: object, errors: list[FieldError]) -> str:
    text = cell_text(raw)
    if not text:
        return ""
    region = _region(text) or ""
    if not region:
        errors.append(FieldError("region", "invalid_region", f"{text!r} is not one of Ghana's 16 regions."))
    return region


def clean_company(raw: object, errors: list[FieldError]) -> str:
    company = cell_text(raw)
    if len(company) > SPECS["company_name"].max_length:
        limit = SPECS["company_name"].max_length
        errors.append(FieldError("company_name", "too_long", f"Company is longer than {limit} characters."))
    return company


def clean_customer_type(raw: object, company: str, errors: list[FieldError]) -> tuple[str, bool]:
    """(type, whether the file gave it): a company name means a business unless the file says otherwise."""
    default = CustomerType.BUSINESS if company else CustomerType.INDIVIDUAL
    if raw == "":
        return default, False
    text = cell_text(raw).casefold()
    if text in _CUSTOMER_TYPES:
        return _CUSTOMER_TYPES[text], True
    if text:
        errors.append(FieldError("customer_type", "invalid_type", f"{text!r} is not individual or business."))
    return default, False


_BLANK_CELL = ("",)  # where unmapped fields read: the cell after the last mapped column


class CustomerCleaner:
    """Cleans and validates rows for one mapping, reporting every error of a row, not only the first.

    This runs once per row, so all mapped cells come out with one itemgetter (unmapped fields read a padding cell that
    is always empty) and blank optional cells skip their cleaner.
    """

    _ORDER = ("first_name", "last_name", "full_name", "phone", "shipping_mark", "email", "region", "company_name")
    _ORDER += ("customer_type",)

    def __init__(
        self, fields: Mapping[str, int], *, region: str, generate_marks: bool, drop_invalid_optional: bool = False
    ) -> None:
        self.region = (region or "GH").upper()
        self.generate_marks = generate_marks
        self.drop_invalid_optional = drop_invalid_optional
        index = {name: fields.get(name) for name in self._ORDER}
        self.width = max([position for position in index.values() if position is not None], default=0) + 1
        self.padding = ("",) * (self.width + 1)
        self.getter = operator.itemgetter(*(self.width if index[name] is None else index[name] for name in self._ORDER))
        self.has_full_name = index["full_name"] is not None

    def clean(self, row_number: int, values: tuple[Any, ...]) -> tuple[CleanCustomer | None, list[FieldError]]:
        cells = self.getter(
            values[: self.width] + _BLANK_CELL if len(values) >= self.width else values + self.padding[len(values) :]
        )
        first_raw, last_raw, full_raw, phone_raw, mark_raw, email_raw, region_raw, company_raw, type_raw = cells
        errors: list[FieldError] = []
        first, last = cell_text(first_raw), cell_text(last_raw)
        if not first and not last and self.has_full_name:
            first, _, last = cell_text(full_raw).partition(" ")
        # A cleaner is called only when the cell needs more than the common case (a name of fitting length, a blank
        # optional cell): this runs for every row, and the calls showed in `bench/micro.py`'s whole-row figure.
        if not first or len(first) > NAME_MAX:
            clean_name("first_name", first, errors)
        if not last or len(last) > NAME_MAX:
            clean_name("last_name", last, errors)
        phone = clean_phone(phone_raw, self.region, errors)
        mark, key, generated = clean_mark(mark_raw, self.generate_marks, errors)
        email = clean_email(email_raw, errors) if email_raw != "" else None
        region = clean_region(region_raw, errors) if region_raw != "" else ""
        company = clean_company(company_raw, errors) if company_raw != "" else ""
        if type_raw == "":
            customer_type, type_given = (CustomerType.BUSINESS if company else CustomerType.INDIVIDUAL), False
        else:
            customer_type, type_given = clean_customer_type(type_raw, company, errors)
        if errors and not (self.drop_invalid_optional and all(error.field in OPTIONAL_FIELDS for error in errors)):
            return None, errors
        row = CleanCustomer(row_number, first, last, phone, mark, key, email, region, company, customer_type, values)
        row.mark_generated, row.type_given = generated, type_given
        if errors:
            _leave_out(row, {error.field for error in errors})
        return row, errors  # a row with errors: imported without those cells (a warning)


def _leave_out(row: CleanCustomer, fields: set[str]) -> None:
    """The row as if its invalid optional cells were blank (a blank cell never changes a customer in an upsert)."""
    if "email" in fields:
        row.email = None
    if "region" in fields:
        row.region = ""
    if "company_name" in fields:
        row.company_name = ""
    if "customer_type" in fields or ("company_name" in fields and not row.type_given):
        row.customer_type, row.type_given = (
            CustomerType.BUSINESS if row.company_name else CustomerType.INDIVIDUAL,
            False,
        )


def queue_welcomes(job: Any) -> None:
    """Welcome exactly the customers this job created, after they are committed. SMS trouble never fails an import."""
    from primepre.sms.services import queue_welcome_messages, sms_enabled

    if not sms_enabled():
        logger.warning("[IMPORT-SMS-SKIPPED] job=%s reason=SMS is off", job.pk)
        return
    creator = job.created_by
    if creator is not None and not creator.has_perm("customers.send_sms"):
        # Submit and confirm already refuse this (imports.jobs); a job queued by any other path still sends nothing.
        logger.warning("[IMPORT-SMS-SKIPPED] job=%s reason=the user who started it may not send SMS", job.pk)
        return
    try:
        queued = queue_welcome_messages(Customer.objects.filter(import_job_id=job.pk).iterator(chunk_size=2000))
        logger.info("[IMPORT-SMS] job=%s welcomes_queued=%s", job.pk, queued)
    except Exception:
        logger.exception("[IMPORT-SMS-FAIL] job=%s", job.pk)


class CustomerSchema(ImportSchema):
    name = "customers"
    label = "Customers"
    rows_noun = "customer rows"
    fields = FIELDS
    legacy_layout = LEGACY_LAYOUT
    dedupe_keys = (
        DedupeKey("phone", "phone", "phone number"),
        DedupeKey("mark_key", "shipping_mark", "shipping mark"),
        DedupeKey("email", "email", "email"),
    )
    error_columns = {"first_name": "full_name", "last_name": "full_name"}
    replaces = {"full_name": ("first_name", "last_name")}
    legacy_name = "the old A–E template"
    import_permission = "customers.import_customers"
    undo_permissions = ("customers.delete_customer", "customers.change_customer")
    modes = ("create", "upsert")
    option_specs = (
        OptionSpec(
            "missing_mark",
            "choice",
            "Missing marks",
            "What a row without a shipping mark does: fail (the default), or get a mark built by IMPORT_MARK_RULE.",
            (("error", "A row without a shipping mark fails"), ("generate", "Make a shipping mark for it")),
        ),
        OptionSpec(
            "send_welcome_sms",
            "bool",
            "Welcome SMS",
            "Welcome every customer the import creates (needs the send_sms permission).",
            default=False,
        ),
        leniency_option(
            "What an invalid email, region, company or type does to its row: fail (the default), or "
            "import the row without that cell, listed as a warning."
        ),
    )
    fillers = (Filler("shipping_mark", "missing_mark", "generate", "Make a shipping mark for each row that has none"),)
    header_hints = {"region": ("area", "zone", "district")}
    optional_fields = OPTIONAL_FIELDS

    record_nouns = ("customer", "customers")
    already_there = "already in the directory"
    records_list = "customers:list"
    records_api = "customer-list"

    def confirm_label(self, job: Any) -> str:
        label = super().confirm_label(job)
        return label + (f" and send {job.created:,} welcome SMS" if job.options.get("send_welcome_sms") else "")

    def unavailable_options(self, user: Any) -> dict[str, str]:
        unavailable = {}
        if not user.has_perm("customers.change_customer"):
            unavailable["upsert"] = "your role may not change customers"
        from primepre.sms.services import sms_unavailable  # the worker never loads SMS for an import's options

        why_not = sms_unavailable(user)
        if why_not:
            unavailable["send_welcome_sms"] = why_not
        return unavailable

    def side_effects(self, mode: str, options: Mapping[str, Any]) -> dict[str, str]:
        needed = {}
        if mode == "upsert":
            needed["customers.change_customer"] = "Updating existing customers (mode upsert)"
        if options.get("send_welcome_sms"):
            needed["customers.send_sms"] = "Sending welcome SMS"
        return needed

    record_page = ("customers:detail", "customers.view_customer")

    def record_model(self) -> type[Customer]:
        return Customer

    def planner_columns(self) -> tuple[Any, tuple[str, ...]]:
        return Customer, ("region", "customer_type", "created_at", "last_name", "import_job")

    def after_import(self, job: Any) -> None:
        if job.options.get("send_welcome_sms"):
            queue_welcomes(job)

    def undo(self, job: Any, result: Any) -> None:
        from .import_undo import undo_customer_import

        undo_customer_import(job, result)

    def required_missing(self, fields: Mapping[str, int], options: Mapping[str, Any]) -> list[str]:
        missing = []
        if "phone" not in fields:
            missing.append("phone")
        if "full_name" not in fields:
            missing += [name for name in ("first_name", "last_name") if name not in fields]
        if "shipping_mark" not in fields and options.get("missing_mark") != "generate":
            missing.append("shipping_mark")
        return missing

    def complete(self, fields: Mapping[str, int]) -> bool:
        return not self.required_missing(fields, {"missing_mark": "generate"})

    def guess_field(self, values: list[str]) -> str | None:
        """Phones when every sampled cell reads as one, marks when every cell is shaped like `PM9 KWAKU`."""
        if len(values) < 2:
            return None
        if all(normalise_phone(value, settings.DEFAULT_PHONE_REGION).ok for value in values):
            return "phone"
        if all(_MARK_SHAPE.match(value.strip()) for value in values):
            return "shipping_mark"
        return None

    def looks_like_legacy(self, cells: tuple[Any, ...], region: str) -> bool:
        if len(cells) < 5 or not tidy_text(cells[0]) or not tidy_text(cells[1]):
            return False
        return normalise_phone(cells[4], region).ok

    def cleaner(self, fields: Mapping[str, int], context: ImportContext) -> CustomerCleaner:
        generate = context.options.get("missing_mark") == "generate"
        drop = context.options.get("invalid_optional") == "import_without"
        return CustomerCleaner(fields, region=context.region, generate_marks=generate, drop_invalid_optional=drop)

    def writer(self, context: ImportContext) -> Any:
        from .import_writer import CustomerWriter

        return CustomerWriter(context)

    def expected_headers(self) -> str:
        return "Shipping Mark, First Name, Last Name, Phone, Email, Region, Company"

    def stored_values(self, row: CleanCustomer) -> dict[str, str]:
        regions = dict(Region.choices)
        return {
            "Shipping Mark": row.shipping_mark or "(made when imported)",
            "First Name": row.first_name,
            "Last Name": row.last_name,
            "Phone": row.phone,
            "Email": row.email or "",
            "Region": regions.get(row.region, ""),
            "Company": row.company_name,
            "Customer Type": CustomerType(row.customer_type).label,
        }

    def display_value(self, field: str, value: Any) -> str:
        if field == "region" and value:
            return dict(Region.choices).get(value, value)
        if field == "customer_type" and value:
            return dict(CustomerType.choices).get(value, value)
        return "" if value is None else str(value)

    def template(self) -> bytes:
        from .import_template import template_workbook

        return template_workbook()
