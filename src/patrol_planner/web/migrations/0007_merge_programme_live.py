from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tasking', '0006_merge_live_routed'),
        ('tasking', '0006_merge_programme_results_routed_units'),
    ]

    operations = []
