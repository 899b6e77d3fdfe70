from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tasking', '0007_live_replans'),
        ('tasking', '0007_merge_programme_live'),
    ]

    operations = []
