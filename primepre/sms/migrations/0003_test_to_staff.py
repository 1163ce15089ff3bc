"""A test text to a staff user's own phone: its kind, and whose phone it went to."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sms", "0002_received_kind"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="smsmessage",
            name="staff_user",
            field=models.ForeignKey(
                blank=True,
                help_text="For a test: the staff user who sent it to their own phone.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="smsmessage",
            name="kind",
            field=models.CharField(
                choices=[
                    ("welcome", "Welcome"),
                    ("one_off", "One-off"),
                    ("group", "Group"),
                    ("received", "Goods received"),
                    ("test", "Test to staff"),
                ],
                max_length=10,
            ),
        ),
    ]
