"""A staff user's own phone (E.164 or empty), where the SMS page sends a test of a text."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_manage_all_imports"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="phone",
            field=models.CharField(
                blank=True,
                help_text="Your own mobile, for test texts to yourself. Any common format; stored as +233241234567.",
                max_length=16,
                verbose_name="my phone",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("phone", ""),
                    models.Q(("phone__length__gte", 8), ("phone__length__lte", 16), ("phone__startswith", "+")),
                    _connector="OR",
                ),
                name="user_phone_e164_or_empty",
            ),
        ),
    ]
