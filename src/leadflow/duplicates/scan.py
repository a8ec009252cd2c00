"""The whole-workspace scan: every contact's blocking keys rebuilt, every candidate pair
compared, the model's weights learned again from the workspace's data (EM) and its team's
decisions, and the review list rewritten.

Memory, not SQL, does the blocking here: the scan reads every contact once anyway, and a
dictionary of keys beats a self-join of millions of key rows. The keys are still written
(COPY on PostgreSQL) because the incremental check (``services.duplicates_check``) looks
them up per contact. Comparing and scoring is vectorised (``compare.pairs_compare``,
``model.probabilities``) in batches.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from leadflow.core.models import Workspace
from leadflow.duplicates import selectors
from leadflow.duplicates.blocking import person_keys
from leadflow.duplicates.compare import PersonTable, table_compare
from leadflow.duplicates.engine import candidate_pairs
from leadflow.duplicates.model import (
    LIST_THRESHOLD,
    probabilities,
    reason_flags,
    reasons_describe,
    weights_fit,
)
from leadflow.duplicates.models import (
    DuplicateKey,
    DuplicatePair,
    DuplicateProfile,
    FoundBy,
    PairStatus,
)
from leadflow.duplicates.records import person_normalise
from leadflow.duplicates.services import (
    ScoredPair,
    _pairs_write,
    levels_dict,
    levels_row,
    matcher_for,
    pairs_rescore,
    weights_stored,
)

COMPARE_BATCH = 200_000


@dataclass
class ScanProgress:
    """Where a scan is: ``stage`` (reading, keys, comparing, learning, listing), ``done``
    of ``total`` in that stage."""

    stage: str
    done: int
    total: int


@dataclass
class ScanResult:
    contacts: int = 0
    keys: int = 0
    candidates: int = 0
    listed: int = 0
    removed: int = 0
    seconds: float = 0.0
    weights: dict = field(default_factory=dict)


def duplicates_scan(
    *, workspace: Workspace, progress: Callable[[ScanProgress], None] | None = None
) -> ScanResult:
    """Scan the whole workspace (see the module's docstring). Safe to run twice and while
    contacts change: a contact changed during the scan is checked again by its own
    activity. Dismissed pairs stay dismissed; open pairs no longer found are removed."""
    started = timezone.now()
    report = progress or (lambda _progress: None)
    matcher = matcher_for(workspace)
    DuplicateProfile.objects.update_or_create(
        workspace=workspace, defaults={"scan_started_at": started}
    )
    persons = []
    keys_per_person: list[list[str]] = []
    total = selectors.contacts_count(workspace)
    for rows in selectors.contact_values_all(workspace):
        for row in rows:
            person = person_normalise(row, identifying=matcher.identifying)
            persons.append(person)
            keys_per_person.append(sorted(set(person_keys(person))))
        report(ScanProgress("reading", len(persons), total))
    result = ScanResult(contacts=len(persons))
    result.keys = _keys_replace(workspace, persons, keys_per_person, report)
    left, right = candidate_pairs(keys_per_person)
    del keys_per_person
    result.candidates = len(left)
    table = PersonTable(persons)
    gammas = np.empty((len(left), len(matcher.comparisons)), dtype=np.int8)
    for start in range(0, len(left), COMPARE_BATCH):
        end = min(start + COMPARE_BATCH, len(left))
        gammas[start:end] = table_compare(
            table.take(left[start:end]), table.take(right[start:end]), matcher.comparisons
        )
        report(ScanProgress("comparing", end, len(left)))
    report(ScanProgress("learning", 0, 1))
    labelled = selectors.decisions_labelled(workspace)
    if labelled:
        labelled_gammas = np.array(
            [levels_row(levels, matcher.comparisons) for levels, _ in labelled], dtype=np.int8
        )
        all_gammas = np.concatenate([gammas, labelled_gammas])
        labels = np.concatenate(
            [
                np.full(len(gammas), -1, dtype=np.int8),
                np.array([1 if verdict else 0 for _, verdict in labelled], dtype=np.int8),
            ]
        )
    else:
        all_gammas, labels = gammas, None
    weights = (
        weights_fit(all_gammas, start=matcher.weights, labels=labels)
        if len(all_gammas)
        else matcher.weights
    )
    weights.labelled_pairs = len(labelled)
    report(ScanProgress("learning", 1, 1))
    chances = probabilities(gammas, weights) if len(gammas) else np.empty(0)
    keep = np.nonzero(chances >= LIST_THRESHOLD)[0]
    listed = []
    for index in keep:
        one, two = persons[left[index]], persons[right[index]]
        if one.id > two.id:
            one, two = two, one
        row = gammas[index]
        listed.append(
            ScoredPair(
                contact_id=one.id,
                other_id=two.id,
                probability=float(chances[index]),
                levels=levels_dict(row, matcher.comparisons),
                reasons=reasons_describe(row, one, two, matcher.comparisons)[:300],
                reason_flags=reason_flags(row, matcher.comparisons),
            )
        )
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, len(listed), 5000):
            _pairs_write(workspace, listed[start : start + 5000], found_by=FoundBy.SCAN, now=now)
            report(ScanProgress("listing", min(start + 5000, len(listed)), len(listed)))
        result.removed = DuplicatePair.objects.filter(
            workspace=workspace, status=PairStatus.OPEN, scored_at__lt=now
        ).delete()[0]
        profile = DuplicateProfile.objects.select_for_update().get(workspace=workspace)
        profile.weights = weights_stored(weights)
        profile.fitted_at = now
        profile.scan_finished_at = timezone.now()
        profile.scan_pairs = len(listed)
        profile.save()
        # pairs listed since by checks of changed contacts: scored by the new weights too
        pairs_rescore(workspace=workspace, weights=weights, comparisons=matcher.comparisons)
    result.listed = len(listed)
    result.weights = weights_stored(weights)
    result.seconds = (timezone.now() - started).total_seconds()
    return result


def _keys_replace(
    workspace: Workspace, persons: list, keys_per_person: list[list[str]], report
) -> int:
    """Every contact's keys, replacing the workspace's (one transaction). Returns rows."""
    rows = (
        (person.id, key)
        for person, keys in zip(persons, keys_per_person, strict=True)
        for key in keys
    )
    total = sum(len(keys) for keys in keys_per_person)
    with transaction.atomic():
        DuplicateKey.objects.filter(workspace=workspace).delete()
        if connection.vendor == "postgresql":
            table = DuplicateKey._meta.db_table
            statement = f"COPY {table} (workspace_id, contact_id, key) FROM STDIN"
            with (
                connection.cursor() as cursor,
                connection.wrap_database_errors,
                cursor.cursor.copy(statement) as copy,
            ):
                for done, (contact_id, key) in enumerate(rows, 1):
                    copy.write_row((workspace.pk, contact_id, key))
                    if done % 200_000 == 0:
                        report(ScanProgress("keys", done, total))
        else:
            batch: list[DuplicateKey] = []
            for contact_id, key in rows:
                batch.append(DuplicateKey(workspace=workspace, contact_id=contact_id, key=key))
                if len(batch) == 5000:
                    DuplicateKey.objects.bulk_create(batch)
                    batch = []
            DuplicateKey.objects.bulk_create(batch)
        report(ScanProgress("keys", total, total))
    return total
