"""Joins the two migrations written side by side after 0002 (positions, programmes); changes nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tasking", "0003_positions"),
        ("tasking", "0003_programmes"),
    ]

    operations: list = []
