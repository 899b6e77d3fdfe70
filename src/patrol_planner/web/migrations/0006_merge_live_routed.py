from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tasking', '0005_live_status'),
        ('tasking', '0005_routed_units'),
    ]

    operations = []
