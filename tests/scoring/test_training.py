"""Training a workspace's conversion model from its own history, versions, refusal of a
worse model, the low-data fallback, and predictions with their reasons."""

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leadflow.contacts.models import Contact, Outcome
from leadflow.scoring.models import ConversionModel, ModelStatus, Prediction
from leadflow.scoring.selectors import prediction_for
from leadflow.scoring.services import predictions_write, training
from leadflow.scoring.services.training import (
    NotEnoughOutcomes,
    model_activate,
    model_train,
    model_train_queue,
    models_retrain_due,
)
from leadflow.scoring.tasks import model_train as model_train_task
from tests.scoring.history import after_outcome_plant, history_make

pytestmark = pytest.mark.django_db


def test_training_finds_the_drivers_beats_the_frequency_model_and_explains_leads(workspace):
    labels = history_make(workspace, contacts=400, unlabelled=60)
    model = model_train(workspace=workspace)
    assert model.status == ModelStatus.ACTIVE and not model.low_data
    assert model.family != "frequency"
    candidates = model.metrics["candidates"]
    assert set(candidates) >= {"frequency", "logistic", "boosting"}
    assert candidates[model.family]["cv_auc"] > candidates["frequency"]["cv_auc"]
    assert model.metrics["cv"]["roc_auc"] > 0.75
    assert model.metrics["cv"]["brier"] < model.metrics["cv"]["base_rate_brier"]
    assert model.rows == 400 and model.positives == sum(labels.values())
    assert DBTaskResult.objects.filter(task_path__endswith="predictions_write").exists()

    predictions_write(workspace_id=workspace.pk)
    assert Prediction.objects.filter(workspace_id=workspace.pk).count() == 460
    assert not Contact.objects.filter(workspace=workspace, conversion_probability=None).exists()
    top = list(Contact.objects.filter(workspace=workspace).order_by("-conversion_probability")[:20])
    named = 0
    for contact in top:
        view = prediction_for(workspace, contact.pk)
        assert view.probability == pytest.approx(contact.conversion_probability)
        assert 3 <= len(view.factors) <= 5
        assert view.model_version == model.version
        strongest = " ".join(factor["text"] for factor in view.factors[:2]).lower()
        named += "pricing" in strongest or "budget" in strongest
    assert named >= 16


def test_activity_after_the_outcomes_does_not_change_the_trained_model(workspace):
    labels = history_make(workspace, contacts=250)
    first = model_train(workspace=workspace, families=["frequency", "logistic"])
    after_outcome_plant(workspace, labels)
    second = model_train(workspace=workspace, families=["frequency", "logistic"])
    assert second.metrics["cv"] == first.metrics["cv"]
    assert second.metrics["candidates"] == first.metrics["candidates"]
    assert second.status == ModelStatus.ACTIVE  # as good: it replaces the first


def test_a_worse_model_is_rejected_and_kept_until_forced(workspace, owner_actor):
    history_make(workspace, contacts=300)
    good = model_train(workspace=workspace, families=["frequency"])
    # Labels shuffled: what was learned no longer holds.
    rng = np.random.default_rng(3)
    ids = list(
        Contact.objects.filter(workspace=workspace).exclude(outcome="").values_list("pk", "outcome")
    )
    outcomes = [outcome for _, outcome in ids]
    rng.shuffle(outcomes)
    for (pk, _), outcome in zip(ids, outcomes, strict=True):
        Contact.objects.filter(pk=pk).update(outcome=outcome)
    worse = model_train(workspace=workspace, families=["frequency"])
    assert worse.status == ModelStatus.REJECTED
    assert "below the model in use" in worse.message
    good.refresh_from_db()
    assert good.status == ModelStatus.ACTIVE
    assert worse.version == good.version + 1

    model_activate(workspace=workspace, model_id=worse.pk, actor=owner_actor)
    worse.refresh_from_db()
    good.refresh_from_db()
    assert (worse.status, good.status) == (ModelStatus.ACTIVE, ModelStatus.RETIRED)
    assert worse.forced
    forced = model_train(workspace=workspace, force=True, families=["frequency"])
    assert forced.status == ModelStatus.ACTIVE
    assert ConversionModel.objects.filter(workspace=workspace, status="active").count() == 1


def test_few_outcomes_give_the_frequency_model_labelled_low_data(workspace):
    history_make(workspace, contacts=80)
    model = model_train(workspace=workspace)
    assert model.low_data and model.family == "frequency"
    assert model.status == ModelStatus.ACTIVE
    predictions_write(workspace_id=workspace.pk)
    contact = Contact.objects.filter(workspace=workspace).first()
    view = prediction_for(workspace, contact.pk)
    assert view.low_data and view.family


def test_no_outcomes_of_one_class_is_a_clear_failure_without_a_model(workspace):
    history_make(workspace, contacts=40)
    Contact.objects.filter(workspace=workspace).update(outcome=Outcome.LOST)
    with pytest.raises(NotEnoughOutcomes, match="0 won and 40 lost"):
        model_train(workspace=workspace)
    assert not ConversionModel.objects.filter(workspace=workspace).exists()
    queued = model_train_queue(workspace=workspace)
    assert model_train_queue(workspace=workspace) == queued  # asked twice, queued once
    assert model_train_task.call(workspace.pk, False, queued.pk) == 0
    queued.refresh_from_db()
    assert queued.status == ModelStatus.FAILED and "Not enough outcomes" in queued.message


def test_without_an_active_model_nothing_is_predicted(workspace):
    history_make(workspace, contacts=30)
    predictions_write(workspace_id=workspace.pk)
    assert not Prediction.objects.exists()
    assert prediction_for(workspace, Contact.objects.first().pk) is None


def test_the_queued_version_is_trained_by_the_task_and_retraining_is_due_weekly(
    workspace, other_workspace
):
    history_make(workspace, contacts=100)
    assert models_retrain_due() == 1  # never trained, has outcomes; the other has none
    queued = ConversionModel.objects.get(workspace=workspace)
    assert queued.status == ModelStatus.TRAINING
    assert DBTaskResult.objects.filter(task_path__endswith="model_train").count() == 1
    assert model_train_task.call(workspace.pk, False, queued.pk) == queued.pk
    queued.refresh_from_db()
    assert queued.status == ModelStatus.ACTIVE and queued.artifact
    assert model_train_task.call(workspace.pk, False, queued.pk) == queued.pk  # twice: no-op
    assert models_retrain_due() == 0  # trained this week


def test_many_batches_and_a_few_contacts_score_as_one_batch_does(workspace, monkeypatch):
    history_make(workspace, contacts=150, unlabelled=40)
    model_train(workspace=workspace, families=["frequency", "logistic"])
    at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: at)  # the same "now" for every run

    def written() -> dict:
        rows = Prediction.objects.filter(workspace_id=workspace.pk)
        return {row.contact_id: (row.probability, row.factors) for row in rows}

    def same(found: dict, expected: dict) -> None:
        # Batches of other shapes may round the model's sums differently in the last bit:
        # the same probabilities and factors up to that, a factor whose effect ties with
        # the cut (the fifth strongest, or the smallest kept) may be swapped for its twin.
        assert found.keys() == expected.keys()
        for pk, (probability, factors) in expected.items():
            assert found[pk][0] == pytest.approx(probability, rel=1e-9)
            ours = {f["feature"]: (f["text"], f["effect"]) for f in found[pk][1]}
            theirs = {f["feature"]: (f["text"], f["effect"]) for f in factors}
            for feature in ours.keys() & theirs.keys():
                assert ours[feature][0] == theirs[feature][0]
                assert ours[feature][1] == pytest.approx(theirs[feature][1], abs=2e-4)
            weakest = min((abs(effect) for _, effect in theirs.values()), default=0)
            for feature in ours.keys() ^ theirs.keys():
                effect = (ours.get(feature) or theirs[feature])[1]
                assert abs(effect) == pytest.approx(weakest, abs=2e-4) or abs(effect) < 0.0025

    predictions_write(workspace_id=workspace.pk)
    whole = written()
    assert len(whole) == 190 and any(factors for _, factors in whole.values())
    Prediction.objects.filter(workspace_id=workspace.pk).delete()
    Contact.objects.filter(workspace=workspace).update(conversion_probability=None)
    # Seven per batch: each batch read by its id range, written while the next is scored.
    monkeypatch.setattr(training, "PREDICT_BATCH", 7)
    predictions_write(workspace_id=workspace.pk)
    same(written(), whole)
    # Every fifth contact: ids far apart are read one by one, not by their range.
    some = sorted(whole)[::5]
    Prediction.objects.filter(contact_id__in=some).delete()
    Contact.objects.filter(pk__in=some).update(conversion_probability=None)
    predictions_write(workspace_id=workspace.pk, contact_ids=some)
    same(written(), whole)
    # The others: read by their range, the skipped contacts' rows found in it left out.
    others = sorted(set(whole) - set(some))
    Prediction.objects.filter(contact_id__in=others).delete()
    predictions_write(workspace_id=workspace.pk, contact_ids=others)
    same(written(), whole)
    stored = Contact.objects.filter(workspace=workspace).values_list("pk", "conversion_probability")
    assert dict(stored) == {pk: probability for pk, (probability, _) in written().items()}


def test_a_contact_whose_probability_would_not_change_is_not_rewritten(workspace, monkeypatch):
    history_make(workspace, contacts=120, unlabelled=20)
    model_train(workspace=workspace, families=["frequency", "logistic"])
    at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: at)
    predictions_write(workspace_id=workspace.pk)
    contacts = Contact.objects.filter(workspace=workspace).order_by("pk")
    changed = contacts.first()
    Contact.objects.filter(pk=changed.pk).update(conversion_probability=0.123)

    def versions() -> dict[int, str]:
        """Where each contact's row version is (PostgreSQL's ctid: a rewrite moves it;
        SQLite has none to compare)."""
        if connection.vendor != "postgresql":
            return {}
        with connection.cursor() as cursor:
            table = Contact._meta.db_table
            sql = f"SELECT id, ctid::text FROM {table} WHERE workspace_id = %s"
            cursor.execute(sql, [workspace.pk])
            return dict(cursor.fetchall())

    before = versions()
    predictions_write(workspace_id=workspace.pk)  # the same moment: the same probabilities
    after = versions()
    assert Prediction.objects.filter(workspace_id=workspace.pk).count() == 140
    # Only the contact whose value was changed by hand is written (back to its prediction).
    assert {pk for pk in after if after[pk] != before[pk]} == ({changed.pk} if after else set())
    changed.refresh_from_db()
    expected = Prediction.objects.get(contact_id=changed.pk).probability
    assert changed.conversion_probability == expected != 0.123
    stored = dict(contacts.values_list("pk", "conversion_probability"))
    rows = Prediction.objects.filter(workspace_id=workspace.pk)
    assert stored == dict(rows.values_list("contact_id", "probability"))
