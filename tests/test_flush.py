"""The test suite's flush (tests/conftest.py: DELETE instead of TRUNCATE on PostgreSQL)
empties every table, whatever the order of their foreign keys, and leaves the database
usable."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert, note_add
from leadflow.core.actors import Actor
from leadflow.core.services import workspace_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_flush_empties_every_table(workspace, owner_actor, other_workspace):
    contact = contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "ann@example.net", "tags": ["vip"], "company": "Initech"},
    ).contact
    note_add(workspace=workspace, contact_id=contact.pk, body="Called", actor=owner_actor)
    assert Activity.objects.exists()

    call_command("flush", interactive=False, verbosity=0)

    left = {
        model._meta.db_table: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed
        and not model._meta.proxy
        # Django writes these again after a flush (post_migrate), whichever way it empties.
        and model._meta.app_label not in ("contenttypes", "auth")
    }
    assert {table: count for table, count in left.items() if count} == {}
    # Usable at once: a workspace and a contact are written after it.
    fresh, _ = workspace_create(name="After", owner_email="after@example.net", slug="after")
    contact_upsert(workspace=fresh, actor=Actor.system(), data={"email": "bob@example.net"})
    assert Contact.objects.count() == 1
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.operations import DatabaseOperations

        assert hasattr(DatabaseOperations.sql_flush, "django_truncate")
