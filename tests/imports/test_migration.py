"""Moving ImportJob and ImportMapping from contacts into the imports app moved no data: a
database with imports made before the move keeps them, under the same tables, afterwards
(imports.0001 and contacts.0012 change only Django's state), and back again."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from leadflow.imports.models import ImportJob, ImportMapping

BEFORE = [("contacts", "0011_import_warnings_heartbeat"), ("imports", None)]


def _migrate(targets=None):
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_rows_made_before_the_move_are_there_after_it(workspace):
    # The content types as `migrate` leaves them (a test's flush leaves them out:
    # tests/conftest.py).
    emit_post_migrate_signal(0, False, connection.alias)
    try:
        executor = _migrate(BEFORE)
        old = executor.loader.project_state(BEFORE[0]).apps
        job = old.get_model("contacts", "ImportJob").objects.create(
            workspace_id=workspace.pk,
            path="/data/uploads/imports/old.csv",
            original_filename="old.csv",
            status="done",
            created_count=5,
            warning_count=1,
        )
        old.get_model("contacts", "ImportMapping").objects.create(
            workspace_id=workspace.pk, name="Fair sheet", mapping={"E-mail": "email"}
        )
        assert ContentType.objects.filter(app_label="contacts", model="importjob").exists()
    finally:
        _migrate()
    assert list(
        ImportJob.objects.values_list("pk", "original_filename", "status", "created_count")
    ) == [(job.pk, "old.csv", "done", 5)]
    assert list(ImportMapping.objects.values_list("name", "mapping")) == [
        ("Fair sheet", {"E-mail": "email"})
    ]
    assert ImportJob._meta.db_table == "contacts_importjob"
    labels = set(
        ContentType.objects.filter(model__in=["importjob", "importmapping"]).values_list(
            "app_label", flat=True
        )
    )
    assert labels == {"imports"}
