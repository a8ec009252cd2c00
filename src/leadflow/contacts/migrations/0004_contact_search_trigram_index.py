"""A trigram index for free-text contact search on PostgreSQL (a no-op on SQLite).

`LIKE '%text%'` cannot use a B-tree index; pg_trgm's GIN index serves it, so searching
a million contacts stays in milliseconds. pg_trgm is a trusted extension (PostgreSQL 13+):
the database owner may create it.
"""

from django.db import migrations

INDEX = "contacts_contact_search_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON contacts_contact "
        "USING gin (search_text gin_trgm_ops)"
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS contacts_company_name_trgm ON contacts_company "
        "USING gin (upper(name::text) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute("DROP INDEX IF EXISTS contacts_company_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_contact_search_text")]
    operations = [migrations.RunPython(create, drop)]
