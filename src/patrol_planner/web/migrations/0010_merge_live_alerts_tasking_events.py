"""Merge of the two live branches: control-spot alerts and dose checks (0009_live_alerts) and the tasking
room's events of the night (0009_live_tasking_events). No schema change of its own."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tasking", "0009_live_alerts"),
        ("tasking", "0009_live_tasking_events"),
    ]
    operations: list = []
