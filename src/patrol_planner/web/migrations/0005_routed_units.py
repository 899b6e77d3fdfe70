import json

import django.db.models.deletion
from django.db import migrations, models


def backfill(apps, schema_editor):
    """Versions made before this migration: their routed units from the stored plan.json."""
    PlanVersion = apps.get_model("tasking", "PlanVersion")
    RoutedUnit = apps.get_model("tasking", "RoutedUnit")
    for v in PlanVersion.objects.only("pk", "plan_json").iterator():
        ids = {u["id"] for u in json.loads(v.plan_json).get("units", [])}
        RoutedUnit.objects.bulk_create(RoutedUnit(version_id=v.pk, call_sign=c) for c in sorted(ids))


class Migration(migrations.Migration):

    dependencies = [
        ('tasking', '0004_merge_positions_programmes'),
    ]

    operations = [
        migrations.CreateModel(
            name='RoutedUnit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('call_sign', models.CharField(db_index=True, max_length=40)),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='routed_units', to='tasking.planversion')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('version', 'call_sign'), name='one_row_per_routed_unit')],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
