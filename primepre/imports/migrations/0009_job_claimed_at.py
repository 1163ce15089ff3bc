from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0008_saved_mappings"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
