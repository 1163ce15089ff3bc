"""Browsers find the icon: every page links it, and `/favicon.ico` (asked for on its own, whatever a page links)
leads to it instead of a 404 in the logs."""

from __future__ import annotations

import logging

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_static_icon_for_anyone(client: Client, caplog) -> None:
    with caplog.at_level(logging.INFO):
        response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/web/favicon.ico"
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]  # no "Not Found"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    body = b"".join(icon.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00" and b"\x89PNG" in body  # an .ico holding a PNG


def test_every_page_links_the_icon(admin_client: Client) -> None:
    for path in ("/login/", "/", "/customers/"):
        html = admin_client.get(path).content.decode()
        assert '<link rel="icon" href="/static/web/favicon.ico" sizes="32x32">' in html, path
        assert '<link rel="icon" href="/static/web/favicon.svg" type="image/svg+xml">' in html, path
    svg = open(finders.find("web/favicon.svg"), encoding="utf-8").read()
    assert svg.startswith("<svg") and 'viewBox="0 0 32 32"' in svg
