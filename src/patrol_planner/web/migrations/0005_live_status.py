"""Live statuses of units (available, committed to a call, off duty), posted by devices or the tasking room."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tasking", "0004_merge_positions_programmes"),
    ]

    operations = [
        migrations.CreateModel(
            name="UnitStatusEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", models.CharField(choices=[("available", "available"), ("committed", "committed"),
                                                     ("off_duty", "off_duty")], max_length=10)),
                ("at", models.DateTimeField()),
                ("until", models.DateTimeField(blank=True, null=True)),
                ("lon", models.FloatField(blank=True, null=True)),
                ("lat", models.FloatField(blank=True, null=True)),
                ("actor", models.CharField(max_length=150)),
                ("received_at", models.DateTimeField(auto_now_add=True)),
                ("unit", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="status_events",
                                           to="tasking.unit")),
            ],
            options={"ordering": ["id"]},
        ),
    ]
