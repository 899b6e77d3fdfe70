"""The audit chain's head row (pk 1), so every append can lock it."""

from django.db import migrations


def create_head(apps, schema_editor):
    apps.get_model("tasking", "AuditHead").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("tasking", "0001_initial")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
