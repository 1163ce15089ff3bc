from __future__ import annotations

from django import forms

from .models import Customer


class CustomerForm(forms.ModelForm):
    """Accepts phones as people type them (longer than E.164); the model normalises and validates them."""

    phone = forms.CharField(max_length=64, help_text=Customer._meta.get_field("phone").help_text)

    class Meta:
        model = Customer
        fields = [
            "shipping_mark",
            "first_name",
            "last_name",
            "phone",
            "email",
            "region",
            "company_name",
            "customer_type",
        ]
