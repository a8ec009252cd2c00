"""The whole-workspace scan: every contact's blocking keys rebuilt, every candidate pair
compared, the model's weights learned again from the workspace's data (EM) and its team's
decisions, and the review list rewritten.

Memory, not SQL, does the blocking here: the scan reads every contact once anyway, and a
dictionary of keys beats a self-join of millions of key rows. The keys are still written
(COPY on PostgreSQL) because the incremental check (``services.duplicates_check``) looks
them up per contact. Comparing and scoring is vectorised (``compare.pairs_compare``,
``model.probabilities``) in batches.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace
from leadflow.duplicates import selectors
from leadflow.duplicates.blocking import person_keys
from leadflow.duplicates.compare import PersonTable, table_compare
from leadflow.duplicates.engine import RANDOM_PAIRS, candidate_pairs
from leadflow.duplicates.learning import pairs_rescore
from leadflow.duplicates.matching import levels_dict, levels_row, matcher_for, weights_stored
from leadflow.duplicates.model import (
    LIST_THRESHOLD,
    probabilities,
    reason_flags,
    reasons_describe,
    u_from_random,
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
from leadflow.duplicates.services import ScoredPair, pairs_write

COMPARE_BATCH = 200_000
RANDOM_U_MIN_CONTACTS = 1000
# COPY text format: a backslash, tab or line break in a key is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


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
    if len(all_gammas):
        # u from random pairs of this workspace (fixed during the fit: decision 0020); a
        # small workspace has too few pairs to say, and keeps the defaults' u
        pairs_total = len(persons) * (len(persons) - 1) // 2
        u_random = (
            u_from_random(persons, matcher.comparisons, min(RANDOM_PAIRS, pairs_total))
            if len(persons) >= RANDOM_U_MIN_CONTACTS
            else None
        )
        weights = weights_fit(
            all_gammas,
            start=matcher.weights,
            labels=labels,
            u_random=u_random,
            pairs_total=pairs_total,
        )
    else:
        weights = matcher.weights
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
                reasons=reasons_describe(row, one, two, matcher.comparisons, weights=weights)[:300],
                reason_flags=reason_flags(row, matcher.comparisons),
            )
        )
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _pairs_copy(workspace, listed, now=now)
        else:
            existing = set(
                Contact.objects.filter(workspace=workspace).values_list("pk", flat=True)
            )  # a contact deleted during the scan is left out
            listed = [
                pair for pair in listed if pair.contact_id in existing and pair.other_id in existing
            ]
            for start in range(0, len(listed), 5000):
                pairs_write(workspace, listed[start : start + 5000], found_by=FoundBy.SCAN, now=now)
        report(ScanProgress("listing", len(listed), len(listed)))
        # open pairs scored before the scan began and not found by it: no longer listed
        # (pairs that checks of changed contacts listed during the scan stay)
        result.removed = DuplicatePair.objects.filter(
            workspace=workspace, status=PairStatus.OPEN, scored_at__lt=started
        ).delete()[0]
        profile = DuplicateProfile.objects.select_for_update().get(workspace=workspace)
        profile.weights = weights_stored(weights)
        profile.fitted_at = now
        profile.scan_finished_at = timezone.now()
        profile.scan_pairs = len(listed)
        profile.save()
        if connection.vendor == "postgresql":  # the checks' plans need fresh statistics
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {DuplicatePair._meta.db_table}")
        # pairs listed meanwhile by checks of changed contacts: scored by the new weights
        pairs_rescore(
            workspace=workspace,
            weights=weights,
            comparisons=matcher.comparisons,
            scored_between=(started, now),
        )
    result.listed = len(listed)
    result.weights = weights_stored(weights)
    result.seconds = (timezone.now() - started).total_seconds()
    return result


def _pairs_copy(workspace: Workspace, listed: list[ScoredPair], *, now) -> None:
    """The scan's pairs on PostgreSQL: COPY into a temporary table, then one upsert (a
    dismissed pair is re-scored, never reopened; a contact deleted meanwhile is skipped)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS scan_pairs (contact_id bigint, other_id bigint, "
            "probability double precision, levels jsonb, reasons varchar(300), "
            "reason_flags bigint) ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE scan_pairs")  # a second scan in one transaction (tests)
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy("COPY scan_pairs FROM STDIN") as copy,
        ):
            for pair in listed:
                copy.write_row(
                    (
                        pair.contact_id,
                        pair.other_id,
                        pair.probability,
                        json.dumps(pair.levels),
                        pair.reasons,
                        pair.reason_flags,
                    )
                )
        table = DuplicatePair._meta.db_table
        contacts = Contact._meta.db_table
        upsert = f"""
            INSERT INTO {table} (workspace_id, contact_id, other_id, probability, levels,
                reasons, reason_flags, found_by, status, created_at, scored_at)
            SELECT %(ws)s, s.contact_id, s.other_id, s.probability, s.levels, s.reasons,
                s.reason_flags, %(found_by)s, %(open)s, %(now)s, %(now)s
            FROM scan_pairs AS s
            WHERE EXISTS (SELECT 1 FROM {contacts} WHERE id = s.contact_id)
              AND EXISTS (SELECT 1 FROM {contacts} WHERE id = s.other_id)
            ON CONFLICT (contact_id, other_id) DO UPDATE SET
                probability = EXCLUDED.probability, levels = EXCLUDED.levels,
                reasons = EXCLUDED.reasons, reason_flags = EXCLUDED.reason_flags,
                scored_at = EXCLUDED.scored_at
            """  # noqa: S608 - table names only, values are parameters
        cursor.execute(
            upsert,
            {"ws": workspace.pk, "found_by": FoundBy.SCAN, "open": PairStatus.OPEN, "now": now},
        )


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
            prefix = f"{workspace.pk}\t"
            with (
                connection.cursor() as cursor,
                connection.wrap_database_errors,
                cursor.cursor.copy(statement) as copy,
            ):
                # COPY's text format, written in large chunks: write_row per key costs
                # more than the database's own work.
                lines: list[str] = []
                for done, (contact_id, key) in enumerate(rows, 1):
                    lines.append(f"{prefix}{contact_id}\t{key.translate(_COPY_ESCAPES)}\n")
                    if len(lines) == 100_000:
                        copy.write("".join(lines))
                        lines = []
                        report(ScanProgress("keys", done, total))
                copy.write("".join(lines))
            with connection.cursor() as cursor:  # the check's lookups need fresh statistics
                cursor.execute(f"ANALYZE {table}")
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
