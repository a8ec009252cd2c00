"""Outside a transaction on PostgreSQL (the job after training), batch prediction reads the
next batch's features on a second connection (``training._ReadAhead``): the predictions
are those one connection writes, and the reading thread's connection is closed after.
PostgreSQL only: SQLite keeps to one connection."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.scoring import features as features_module
from leadflow.scoring.models import Prediction
from leadflow.scoring.services import predictions_write, training
from leadflow.scoring.services.training import model_train
from tests.scoring.history import history_make

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite: one connection"),
]


def _written(workspace) -> dict:
    rows = Prediction.objects.filter(workspace_id=workspace.pk)
    return {row.contact_id: (row.probability, row.factors) for row in rows}


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_features_read_on_a_second_connection_give_the_same_predictions(workspace, monkeypatch):
    history_make(workspace, contacts=150, unlabelled=40)
    model_train(workspace=workspace, families=["frequency", "logistic"])
    at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: at)  # the same "now" for both runs
    monkeypatch.setattr(training, "PREDICT_BATCH", 7)
    readers: set[str] = set()
    read = features_module.feature_rows

    def recorded(*args, **kwargs):
        readers.add(threading.current_thread().name)
        return read(*args, **kwargs)

    monkeypatch.setattr(features_module, "feature_rows", recorded)

    with transaction.atomic():  # one connection
        predictions_write(workspace_id=workspace.pk)
    assert readers == {"MainThread"}
    alone = _written(workspace)
    assert len(alone) == 190

    Prediction.objects.filter(workspace_id=workspace.pk).delete()
    Contact.objects.filter(workspace=workspace).update(conversion_probability=None)
    readers.clear()
    before = _backends()
    predictions_write(workspace_id=workspace.pk)  # outside: the reader's own connection
    assert readers and all(name.startswith("predictions-read") for name in readers)
    assert _written(workspace) == alone
    stored = Contact.objects.filter(workspace=workspace).values_list("pk", "conversion_probability")
    assert dict(stored) == {pk: probability for pk, (probability, _) in alone.items()}
    assert _backends() == before  # the reading thread's connection was closed
