"""Per-user request counts for rate limits, shared by every web process (primepre/accounts/ratelimit.py)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_staff_phone"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scope", models.CharField(max_length=40)),
                (
                    "period",
                    models.BigIntegerField(
                        help_text="Which period the count is of: seconds since the epoch // its length."
                    ),
                ),
                ("count", models.PositiveIntegerField(default=0)),
                (
                    "previous",
                    models.PositiveIntegerField(default=0, help_text="The count of the period before `period`."),
                ),
                (
                    "user",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("user", "scope"), name="accounts_rate_counter_user_scope_unique"),
                    models.CheckConstraint(
                        condition=models.Q(("scope", ""), _negated=True), name="accounts_rate_counter_scope_required"
                    ),
                ],
            },
        ),
    ]
