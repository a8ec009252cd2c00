"""ImportJob and ImportMapping now belong to the imports app (imports.0001 took them over,
same tables): they leave contacts' state only; no statement runs on the tables."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0012_subscribers"),
        ("imports", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ImportJob"),
                migrations.DeleteModel(name="ImportMapping"),
            ],
            database_operations=[],
        ),
    ]
