from django.db import migrations


class Migration(migrations.Migration):
    """The nurture app's start: each part adds its tables in its own migration."""

    initial = True

    dependencies = [
        ("core", "0001_initial"),
        ("contacts", "0001_initial"),
    ]

    operations = []
