"""Every change to a receipt, kept: who, when, by which path, each field before → after (goods/history.py)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("goods", "0002_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReceiptChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("changed_by_name", models.CharField(blank=True, default="", max_length=150)),
                (
                    "source",
                    models.CharField(
                        choices=[("api", "API"), ("admin", "Admin"), ("resolve", "Mark resolved")], max_length=8
                    ),
                ),
                ("changes", models.JSONField(help_text='Each changed field: {"cartons": {"before": 2, "after": 3}}.')),
                (
                    "changed_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "receipt",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="changes",
                        to="goods.goodsreceipt",
                    ),
                ),
            ],
            options={
                "ordering": ["-changed_at", "-id"],
                "indexes": [models.Index(fields=["receipt", "changed_at"], name="goods_change_receipt_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("source__in", ["api", "admin", "resolve"])),
                        name="goods_change_source_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("changes", {}), _negated=True), name="goods_change_not_empty"
                    ),
                ],
            },
        ),
    ]
