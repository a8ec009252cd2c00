"""Scoring's writes in place: no index on the score columns (engagement score, fit grade,
probability), and contacts' pages half full on PostgreSQL so every row has room for its next
version on its own page (decision 0025). ``fillfactor`` applies to pages written from now on; an existing
install gets it for all rows with ``VACUUM FULL contacts_contact`` (docs/deployment.md)."""

from django.db import migrations


def _fillfactor(value: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE contacts_contact SET (fillfactor = {value})")

    return run


class Migration(migrations.Migration):
    dependencies = [("contacts", "0020_activity_writers_lock")]

    operations = [
        migrations.RemoveIndex(model_name="contact", name="contact_ws_score"),
        migrations.RemoveIndex(model_name="contact", name="contact_ws_prob"),
        migrations.RemoveIndex(model_name="contact", name="contact_ws_grade"),
        migrations.RunPython(_fillfactor("50"), _fillfactor("100")),
    ]
