"""The signed-in user's own account page: who they are, their roles, and their phone for test texts."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from primepre.sms.services import country_not_allowed

from .forms import MyPhoneForm


def _safe_next(request: HttpRequest) -> str:
    """Where to go back after saving (the SMS page that asked for a phone), when it is a page of this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


@login_required
def account_page(request: HttpRequest) -> HttpResponse:
    """Any signed-in user may set their own phone: it is theirs, and only `send_sms` holders can text it."""
    form = MyPhoneForm(request.POST or None, instance=request.user)
    back = _safe_next(request)
    if request.method == "POST":
        if form.is_valid():
            user = form.save()
            messages.success(request, f"Your phone is now {user.phone}." if user.phone else "Your phone is removed.")
            return redirect(back or "web:account")
        form.fields["phone"].widget.attrs["autofocus"] = True  # the keyboard lands on what to fix
    return render(
        request,
        "accounts/account.html",
        {
            "form": form,
            "next": back,
            "roles": [group.name for group in request.user.groups.all()],
            # A number SMS may not reach is accepted, but said at once rather than when a test is refused.
            "country_warning": (
                country_not_allowed(form.instance.phone) if form.instance.phone and not form.errors else ""
            ),
            "allowed_countries": ", ".join(settings.SMS_ALLOWED_COUNTRIES),
        },
    )
