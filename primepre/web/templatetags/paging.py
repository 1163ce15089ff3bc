"""`{% page_query number %}`: the current query string with `page` set, so a pager keeps the list's search, filters
and sort whatever the list is (each view need not rebuild its own query string for the pager)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, number: int, param: str = "page") -> str:
    """`param` names the page parameter of a page with several pagers (the import review's failing rows, warnings
    and changes)."""
    query = context["request"].GET.copy()
    query[param or "page"] = str(number)
    return query.urlencode()
