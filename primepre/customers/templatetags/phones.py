"""`{% load phones %}{{ customer.phone|national_phone }}`: a stored E.164 phone as staff read and dial it.

Shown in the national format for a number of `DEFAULT_PHONE_REGION` (`024 000 0001`), in the international format
for any other country, with the stored E.164 form in the title (on hover, and what the search box and the exports
use). Phones stay E.164 everywhere else: links, exports, the API, logs."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

from ..phones import display_phone

register = template.Library()


@register.filter
def national_phone(value: object) -> SafeString:
    """`+233240000001` → `<span title="+233240000001">024 000 0001</span>`; a value that is no phone (empty, not
    parseable) is shown escaped as it is, without a title that would only repeat it."""
    stored = "" if value is None else str(value)
    shown = display_phone(stored, settings.DEFAULT_PHONE_REGION)
    if shown == stored:
        return conditional_escape(stored)
    return format_html('<span class="phone" title="{}">{}</span>', stored, shown)
