"""Staff users. A custom model from day one, so adding fields later never needs a user-table migration dance."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

from primepre.customers.phones import normalise_phone

# The same lookup the customers' E.164 constraint uses; registering it here too keeps this model's constraint
# independent of which app is imported first.
models.CharField.register_lookup(Length, "length")


class User(AbstractUser):
    """A member of staff. Roles are Django groups (`Admin`, `Staff`, see `roles.py`); permissions come with them."""

    phone = models.CharField(
        "my phone",
        max_length=16,
        blank=True,
        help_text="Your own mobile, for test texts to yourself. Any common format; stored as +233241234567.",
    )

    class Meta(AbstractUser.Meta):
        constraints = [
            models.CheckConstraint(
                condition=Q(phone="") | Q(phone__startswith="+", phone__length__gte=8, phone__length__lte=16),
                name="user_phone_e164_or_empty",
            )
        ]

    def clean_fields(self, exclude: Any = None) -> None:
        """Normalise the phone first (customers' rules: `024 123 4567` is +233241234567), then validate the rest;
        a number that is not one keeps its typed form and gets the reason beside the field."""
        skip = set(exclude or ())
        errors: dict[str, list[ValidationError]] = {}
        if "phone" not in skip and self.phone:
            result = normalise_phone(self.phone, settings.DEFAULT_PHONE_REGION)
            if result.ok:
                self.phone = result.e164
            else:
                errors["phone"] = [ValidationError(result.message, code=result.code)]
                skip.add("phone")
        try:
            super().clean_fields(exclude=skip)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


class RateCounter(models.Model):
    """One user's requests under one rate limit (`scope`): this period's count and the previous period's, from which
    `ratelimit.py` estimates a sliding window. In the database because it is the one store every web process shares:
    the deploy has no shared cache, and a count per process is the limit times the number of processes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    scope = models.CharField(max_length=40)
    period = models.BigIntegerField(help_text="Which period the count is of: seconds since the epoch // its length.")
    count = models.PositiveIntegerField(default=0)
    previous = models.PositiveIntegerField(default=0, help_text="The count of the period before `period`.")

    class Meta:
        constraints = [
            # One row per user and limit: the upsert that counts a request targets it (ON CONFLICT).
            models.UniqueConstraint(fields=["user", "scope"], name="accounts_rate_counter_user_scope_unique"),
            models.CheckConstraint(condition=~Q(scope=""), name="accounts_rate_counter_scope_required"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} user={self.user_id} period={self.period} count={self.count}"
