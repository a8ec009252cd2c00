"""Training conversion models and writing predictions.

``model_train`` learns from the workspace's contacts with a known outcome (features read
at each one's cutoff, ``scoring.features``), lets the candidate families compete by
cross-validation (``scoring.learn.select.model_fit``), evaluates the winner (stratified
cross-validation and a hold-out by time), stores it as a new version and makes it the one
in use, unless it does worse than the model in use (then it is kept as ``rejected``, and
only ``force`` makes it active). With few outcomes it is the frequency model, labelled
"low data"; with none of one class there is no model.

``predictions_write`` scores contacts with the active model: features now, the
probability and the three to five factors behind it, as ``Prediction`` rows and the
contact's ``conversion_probability``, in batches, set-based, each batch written while the
next one is computed.

scikit-learn, numpy and the learner are imported inside the functions: the web process
imports this module (through ``scoring.services``) and must never load them.
"""

import datetime as dt
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from leadflow.contacts.models import Contact, Outcome
from leadflow.contacts.services import contact_scores_write_select
from leadflow.core.actors import Actor
from leadflow.core.errors import DomainError
from leadflow.core.errors import NotFound as NotFoundError
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.scoring.models import ConversionModel, ModelStatus, Prediction

logger = logging.getLogger(__name__)

# Below these the model is the smoothed frequency model, labelled "low data".
MIN_POSITIVES = 30
MIN_ROWS = 200
# Below this many outcomes of either class nothing is trained.
MIN_EACH_CLASS = 3
# A new model replaces the one in use unless its ROC AUC is lower by more than this.
TOLERANCE = 0.01
# Contacts per batch of predictions.
PREDICT_BATCH = 20_000
FACTORS = 5
# `leadflow maintain` retrains a workspace whose last version is older than this.
RETRAIN_DAYS = 7

Progress = Callable[[str, int, int], None]


class NotEnoughOutcomes(DomainError):
    status = 409
    code = "not_enough_outcomes"
    title = "Not enough outcomes to learn from"


def model_version_next(workspace: Workspace) -> int:
    """The next version number (call inside a transaction holding the workspace lock)."""
    latest = ConversionModel.objects.filter(workspace=workspace).aggregate(top=Max("version"))
    return (latest["top"] or 0) + 1


def model_train_queue(
    *, workspace: Workspace, actor: Actor | None = None, force: bool = False
) -> ConversionModel:
    """A new version in the ``training`` state, and the task that trains it (after the
    commit). Asking again while one is queued or training returns that one."""
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        pending = ConversionModel.objects.filter(
            workspace=workspace, status=ModelStatus.TRAINING
        ).first()
        if pending is not None:
            return pending
        model = ConversionModel.objects.create(
            workspace=workspace,
            version=model_version_next(workspace),
            forced=force,
            message="Queued.",
        )
        if actor is not None:
            audit_record(
                workspace=workspace,
                actor=actor,
                action="scoring.model_train_requested",
                obj=model,
                changes={"version": [None, model.version], "force": [None, force]},
            )
        task_schedule("leadflow.scoring.tasks.model_train", workspace.pk, force, model.pk)
    return model


def models_retrain_due(*, now: dt.datetime | None = None) -> int:
    """Queue a training for every workspace due one (``leadflow maintain``): no version
    tried in the last ``RETRAIN_DAYS`` days (its model in use is older, or it never had
    one) and at least ``MIN_EACH_CLASS`` won and lost outcomes. Returns how many."""
    now = now or timezone.now()
    tried = ConversionModel.objects.filter(
        created_at__gte=now - dt.timedelta(days=RETRAIN_DAYS)
    ).values("workspace_id")
    due = (
        Contact.objects.filter(outcome__in=[Outcome.WON, Outcome.LOST], outcome_at__isnull=False)
        .exclude(workspace_id__in=tried)
        .values("workspace_id")
        .annotate(
            won=Count("pk", filter=Q(outcome=Outcome.WON)),
            lost=Count("pk", filter=Q(outcome=Outcome.LOST)),
        )
        .filter(won__gte=MIN_EACH_CLASS, lost__gte=MIN_EACH_CLASS)
        .values_list("workspace_id", flat=True)
    )
    queued = 0
    for workspace in Workspace.objects.filter(pk__in=list(due)).order_by("pk"):
        model_train_queue(workspace=workspace)
        queued += 1
    return queued


def model_train(
    *,
    workspace: Workspace,
    actor: Actor | None = None,
    force: bool = False,
    progress: Progress | None = None,
    model_id: int | None = None,
    families: list[str] | None = None,
) -> ConversionModel:
    """Train, evaluate and store a new version (``model_id``: the queued row to fill);
    make it active unless it is worse than the active one and not ``force``d. Raises
    ``NotEnoughOutcomes`` (and marks a queued row failed) when either class has fewer than
    ``MIN_EACH_CLASS`` outcomes. ``families`` limits the candidates (default: all)."""
    from leadflow.scoring.features import labelled_training_set

    if model_id is not None:
        queued = ConversionModel.objects.filter(pk=model_id, workspace=workspace).first()
        if queued is None:
            raise NotFoundError("No such model.")
        if queued.status != ModelStatus.TRAINING:
            return queued  # already trained: the task ran twice
        force = force or queued.forced
    step = progress or (lambda name, done, total: None)
    step("reading outcomes and features", 0, 1)
    training = labelled_training_set(workspace)
    dataset = training.dataset
    rows = len(dataset.y)
    positives = int(dataset.y.sum())
    negatives = rows - positives
    step("reading outcomes and features", 1, 1)
    if positives < MIN_EACH_CLASS or negatives < MIN_EACH_CLASS:
        message = (
            f"Not enough outcomes to learn from: {positives} won and {negatives} lost; "
            f"at least {MIN_EACH_CLASS} of each are needed."
        )
        if model_id is not None:
            ConversionModel.objects.filter(pk=model_id, workspace=workspace).update(
                status=ModelStatus.FAILED, message=message, finished_at=timezone.now(),
                rows=rows, positives=positives,
            )  # fmt: skip
        raise NotEnoughOutcomes(message)
    try:
        fitted = _fit(dataset, rows=rows, positives=positives, progress=step, families=families)
    except Exception as error:
        if model_id is not None:
            ConversionModel.objects.filter(pk=model_id, workspace=workspace).update(
                status=ModelStatus.FAILED, message=f"Training failed: {error}"[:2000],
                finished_at=timezone.now(),
            )  # fmt: skip
        raise
    artifact = io.BytesIO()
    import joblib

    joblib.dump({"model": fitted["model"], "plan": training.plan.to_dict()}, artifact)
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        model = (
            ConversionModel.objects.filter(pk=model_id, workspace=workspace).first()
            if model_id is not None
            else None
        )
        if model is None:
            model = ConversionModel(workspace=workspace, version=model_version_next(workspace))
        model.family = fitted["family"]
        model.low_data = fitted["low_data"]
        model.forced = force
        model.rows, model.positives = rows, positives
        model.metrics = fitted["metrics"]
        model.features = [_spec_dict(spec) for spec in dataset.specs]
        model.artifact = artifact.getvalue()
        model.finished_at = timezone.now()
        _decide(workspace, model, force=force)
        if actor is not None:
            audit_record(
                workspace=workspace,
                actor=actor,
                action="scoring.model_trained",
                obj=model,
                changes={"version": [None, model.version], "status": [None, model.status]},
            )
        if model.status == ModelStatus.ACTIVE:
            task_schedule("leadflow.scoring.tasks.predictions_write", workspace.pk)
    return model


def _fit(
    dataset, *, rows: int, positives: int, progress: Progress, families: list[str] | None
) -> dict[str, Any]:
    from leadflow.scoring.learn.evaluate import evaluate
    from leadflow.scoring.learn.select import model_fit

    low = positives < MIN_POSITIVES or rows < MIN_ROWS
    result = model_fit(
        dataset,
        families=["frequency"] if low else families,
        progress=progress,
        min_positives=MIN_POSITIVES,
    )
    metrics = dict(result.metrics or {})
    if "cv" not in metrics:
        progress("evaluating", 0, 1)
        metrics.update(evaluate(dataset, family=result.family))
        progress("evaluating", 1, 1)
    metrics["candidates"] = result.candidates
    metrics["family_label"] = result.family_label
    return {
        "model": result.model,
        "family": result.family,
        "low_data": bool(low or result.low_data),
        "metrics": _jsonable(metrics),
    }


def _decide(workspace: Workspace, model: ConversionModel, *, force: bool) -> None:
    """Activate ``model`` (retiring the active one, in this transaction) unless it is
    worse than the active one and not forced: then it is saved as rejected."""
    active = (
        ConversionModel.objects.select_for_update()
        .filter(workspace=workspace, status=ModelStatus.ACTIVE)
        .exclude(pk=model.pk)
        .first()
    )
    if active is not None and not force:
        worse = model_worse(model.metrics, active.metrics)
        if worse:
            model.status = ModelStatus.REJECTED
            model.message = worse
            model.save()
            return
    if active is not None:
        active.status = ModelStatus.RETIRED
        active.save(update_fields=["status"])
    model.status = ModelStatus.ACTIVE
    model.message = "Forced into use." if force and active is not None else ""
    model.save()


def model_auc(metrics: dict) -> tuple[float | None, float | None]:
    """(hold-out ROC AUC, cross-validated ROC AUC) of stored metrics, None when absent."""

    def auc(part: Any) -> float | None:
        value = part.get("roc_auc") if isinstance(part, dict) else None
        return float(value) if isinstance(value, int | float) else None

    return auc(metrics.get("holdout")), auc(metrics.get("cv"))


def model_worse(new: dict, active: dict) -> str:
    """Why the model with metrics ``new`` is worse than the active one (a message), or ""
    when it is not: hold-out ROC AUC when both have one, else cross-validated."""
    new_holdout, new_cv = model_auc(new)
    old_holdout, old_cv = model_auc(active)
    if new_holdout is not None and old_holdout is not None:
        measure, ours, theirs = "time hold-out", new_holdout, old_holdout
    elif new_cv is not None and old_cv is not None:
        measure, ours, theirs = "cross-validated", new_cv, old_cv
    else:
        return ""
    if ours < theirs - TOLERANCE:
        return (
            f"Not used: its {measure} ROC AUC {ours:.3f} is below the model in use "
            f"({theirs:.3f}). Force it to use it anyway."
        )
    return ""


def model_activate(*, workspace: Workspace, model_id: int, actor: Actor) -> ConversionModel:
    """Put a stored (rejected or retired) version into use: "Force" on the model page."""
    from leadflow.core.errors import Conflict

    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        model = (
            ConversionModel.objects.select_for_update()
            .filter(workspace=workspace, pk=model_id)
            .first()
        )
        if model is None:
            raise NotFoundError("No such model.")
        if model.status not in (ModelStatus.REJECTED, ModelStatus.RETIRED) or not model.artifact:
            raise Conflict("Only a trained model that is not in use can be put into use.")
        model.forced = True
        _decide(workspace, model, force=True)
        audit_record(
            workspace=workspace,
            actor=actor,
            action="scoring.model_forced",
            obj=model,
            changes={"status": ["rejected", model.status]},
        )
        task_schedule("leadflow.scoring.tasks.predictions_write", workspace.pk)
    return model


def _spec_dict(spec) -> dict[str, str]:
    return {
        "name": spec.name,
        "kind": spec.kind,
        "label": spec.label,
        "group": spec.group,
        "unit": spec.unit,
    }


def _jsonable(value: Any) -> Any:
    """Metrics as JSON can hold them (numpy numbers as Python numbers, NaN as None)."""
    import math

    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- predictions ------------------------------------------------------------------------

# model id -> (trained model, feature plan), per process: a model version never changes.
_LOADED: dict[int, tuple[Any, Any]] = {}


def model_loaded(model: ConversionModel) -> tuple[Any, Any]:
    """The unpickled model and its feature plan, cached per process by model id."""
    loaded = _LOADED.get(model.pk)
    if loaded is None:
        import joblib

        from leadflow.scoring.features import FeaturePlan

        stored = joblib.load(io.BytesIO(bytes(model.artifact)))
        loaded = (stored["model"], FeaturePlan.from_dict(stored["plan"]))
        if len(_LOADED) > 8:
            _LOADED.clear()
        _LOADED[model.pk] = loaded
    return loaded


def predictions_write(*, workspace_id: int, contact_ids: Iterable[int] | None = None) -> None:
    """Score these contacts (all when None) with the workspace's active model, if any:
    ``Prediction`` rows with factors, and ``Contact.conversion_probability``. Without an
    active model it does nothing (one query). A whole-workspace run also removes the
    predictions of contacts that no longer exist. A contact already carrying its probability
    is not rewritten (that would be a new version of its row in every index).

    In batches of ``PREDICT_BATCH``: features read, probabilities and factors computed,
    then the batch written by a thread sharing this connection (the same transaction)
    while this one computes the next batch's; the connection is used by one thread at a
    time (``_WriteBehind``), so the statements and their order are those of a plain loop."""
    active = (
        ConversionModel.objects.filter(workspace_id=workspace_id, status=ModelStatus.ACTIVE)
        .only("pk", "artifact")
        .first()
    )
    if active is None or not active.artifact:
        return
    from leadflow.scoring.features import feature_rows

    trained, plan = model_loaded(active)
    workspace = Workspace.objects.get(pk=workspace_id)
    started = timezone.now()
    contacts = Contact.objects.filter(workspace_id=workspace_id)
    if contact_ids is None:
        ids = list(contacts.order_by("pk").values_list("pk", flat=True))
    else:
        wanted = sorted({int(pk) for pk in contact_ids})
        ids = []
        for start in range(0, len(wanted), PREDICT_BATCH):
            chunk = wanted[start : start + PREDICT_BATCH]
            ids += contacts.filter(pk__in=chunk).values_list("pk", flat=True)
        ids.sort()
    batches = [ids[start : start + PREDICT_BATCH] for start in range(0, len(ids), PREDICT_BATCH)]

    def features(index: int):
        if index >= len(batches):
            return None
        return feature_rows(workspace, batches[index], plan=plan, now=started, checked=True)

    def write(ids: list[int], probabilities: list[float], factors: list[str]) -> None:
        _predictions_store(workspace_id, active.pk, ids, probabilities, factors, started)
        # The contacts take the probabilities just stored (this run's rows among the batch's
        # ids), in one UPDATE that leaves alone those already carrying theirs. By the unique
        # contact_id index only: a workspace_id condition made PostgreSQL scan the
        # workspace's predictions (index on workspace_id, model_id) once per batch; the
        # writer keeps to the workspace's contacts.
        contact_scores_write_select(
            workspace_id=workspace_id,
            columns=["conversion_probability"],
            select=(
                f"SELECT contact_id AS id, probability AS conversion_probability "  # noqa: S608
                f"FROM {Prediction._meta.db_table} "
                "WHERE contact_id BETWEEN %s AND %s AND computed_at = %s",
                [ids[0], ids[-1], connection.ops.adapt_datetimefield_value(started)],
            ),
        )

    writer = _WriteBehind()
    # Outside a transaction (the job after training, `leadflow scoring predict`) the next
    # batch's features are read on a connection of their own while this thread computes
    # and the writer writes: the three overlap. Inside one (a rescore, which has just
    # changed the grades the features read) everything stays on this connection.
    reader = _ReadAhead(features) if _reads_apart() else None
    try:
        built = reader.take(0) if reader else features(0)
        for index in range(len(batches)):
            scored = None
            if built.contact_ids:
                probabilities, factors = trained.explain_records(built.dataset.X, top=FACTORS)
                # Encoded here, while the writer is busy, not on the writer's turn.
                scored = (probabilities, [json.dumps(row) for row in factors])
            if reader:
                following = reader.take(index + 1)
                writer.wait()
            else:
                writer.wait()  # the previous batch is written: the connection is free
                following = features(index + 1)
            if scored is not None:
                writer.start(partial(write, built.contact_ids, *scored))
            built = following
    finally:
        writer.wait()
        if reader:
            reader.close()
    if contact_ids is None:
        Prediction.objects.filter(workspace_id=workspace_id, computed_at__lt=started).delete()


def _reads_apart() -> bool:
    """Whether the features may be read on a second connection: PostgreSQL, outside a
    transaction (a second connection would not see this one's uncommitted writes)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class _ReadAhead:
    """``read(index)`` run one index ahead on a thread of its own, hence on a database
    connection of its own (Django gives each thread one), closed by ``close``. ``take(i)``
    returns ``read(i)`` and starts ``read(i + 1)``."""

    def __init__(self, read: Callable[[int], Any]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._read = read
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predictions-read")
        self._ahead: tuple[int, Any] | None = None

    def take(self, index: int) -> Any:
        if self._ahead is not None and self._ahead[0] == index:
            value = self._ahead[1].result()
        else:
            value = self._pool.submit(self._read, index).result()
        self._ahead = (index + 1, self._pool.submit(self._read, index + 1))
        return value

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead[1].cancel()
        self._pool.submit(_connection_close).result()  # the reading thread's own
        self._pool.shutdown()


def _connection_close() -> None:
    """Close this thread's database connection (looked up when called, in that thread)."""
    connection.close()


class _WriteBehind:
    """One job at a time on a thread that shares this thread's database connection (Django's
    thread sharing, as its live test server does), so the database writes one batch while
    Python computes the next. The caller leaves the connection alone until ``wait``
    returns; ``wait`` raises the job's error."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, job: Callable[[], None]) -> None:
        self.wait()
        shared = connections[DEFAULT_DB_ALIAS]
        shared.inc_thread_sharing()

        def run() -> None:
            connections[DEFAULT_DB_ALIAS] = shared
            try:
                job()
            except BaseException as error:  # raised again in the caller's thread
                self._error = error
            finally:
                shared.dec_thread_sharing()

        self._thread = threading.Thread(target=run, name="predictions-write")
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def _predictions_store(
    workspace_id: int,
    model_id: int,
    ids: list[int],
    probabilities: list[float],
    factors: list[str],
    at,
) -> None:
    """Upsert one prediction per contact (by ``contact_id``; ``factors``: each one's factors
    as JSON text), set-based. On PostgreSQL the batch is copied (``COPY``) into a temporary
    table and upserted from it by one ``INSERT ... ON CONFLICT``: an array or JSON parameter
    of 20,000 factor lists costs up to twice as much (quoted element by element in Python,
    or parsed twice by the server)."""
    if connection.vendor == "postgresql":
        table = Prediction._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS scoring_prediction_batch "
                "(contact_id bigint, probability double precision, factors jsonb)"
            )
            cursor.execute("TRUNCATE scoring_prediction_batch")
            with cursor.cursor.copy("COPY scoring_prediction_batch FROM STDIN") as copy:
                for row in zip(ids, probabilities, factors, strict=True):
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} "  # noqa: S608 - our table
                "(workspace_id, contact_id, model_id, probability, factors, computed_at) "
                "SELECT %s, contact_id, %s, probability, factors, %s "
                "FROM scoring_prediction_batch "
                "ON CONFLICT (contact_id) DO UPDATE SET workspace_id = EXCLUDED.workspace_id, "
                "model_id = EXCLUDED.model_id, probability = EXCLUDED.probability, "
                "factors = EXCLUDED.factors, computed_at = EXCLUDED.computed_at",
                [workspace_id, model_id, at],
            )
        return
    Prediction.objects.bulk_create(
        [
            Prediction(
                workspace_id=workspace_id,
                contact_id=pk,
                model_id=model_id,
                probability=probability,
                factors=json.loads(row),
                computed_at=at,
            )
            for pk, probability, row in zip(ids, probabilities, factors, strict=True)
        ],
        update_conflicts=True,
        unique_fields=["contact_id"],
        update_fields=["workspace_id", "model_id", "probability", "factors", "computed_at"],
        batch_size=500,
    )
