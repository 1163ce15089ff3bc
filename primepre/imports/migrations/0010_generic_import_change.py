"""ImportChange names its record by schema and id instead of a foreign key to customers (#25: any schema can upsert).
Existing rows are customer changes; one whose customer was deleted had lost its id to SET_NULL and gets record 0,
which no row has, so the review still shows it as "deleted since"."""

from django.db import migrations, models


def copy_customer_ids(apps, schema_editor):
    ImportChange = apps.get_model("imports", "ImportChange")
    ImportChange.objects.filter(customer__isnull=False).update(record_id=models.F("customer_id"))
    ImportChange.objects.filter(customer__isnull=True).update(record_id=0)


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0009_job_claimed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="importchange",
            name="schema",
            field=models.CharField(
                default="customers", help_text="The kind of sheet whose record changed (its job's).", max_length=20
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="importchange",
            name="record_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(copy_customer_ids, migrations.RunPython.noop),
        migrations.RemoveField(model_name="importchange", name="customer"),
        migrations.AlterField(
            model_name="importchange",
            name="record_id",
            field=models.BigIntegerField(help_text="The changed record's primary key in the schema's record model."),
        ),
        migrations.AlterField(
            model_name="importchange",
            name="after_updated_at",
            field=models.DateTimeField(help_text="The record's updated_at as the import left it.", null=True),
        ),
        migrations.AddIndex(
            model_name="importchange",
            index=models.Index(fields=["schema", "record_id"], name="import_change_record"),
        ),
    ]
