"""Joins the two migrations written side by side after 0004 (programme results, routed units); changes nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tasking", "0005_programme_results"),
        ("tasking", "0005_routed_units"),
    ]

    operations: list = []
