"""The account page's form: what a staff user may change about themselves (their own phone, for test texts)."""

from __future__ import annotations

from django import forms

from primepre.customers.phones import MAX_INPUT_LENGTH

from .models import User


class MyPhoneForm(forms.ModelForm):
    """Accepts a phone as people type it (longer than E.164); the model normalises and validates it. Empty clears it."""

    phone = forms.CharField(
        label="My phone",
        max_length=MAX_INPUT_LENGTH,
        required=False,
        help_text=User._meta.get_field("phone").help_text,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    class Meta:
        model = User
        fields = ["phone"]
