"""Writes of the duplicate finder: checking contacts as they arrive or change, deciding on
pairs (merge, "not a duplicate"), refining the model from those decisions, automatic
merging when a workspace turns it on, and the workspace's settings.

The whole-workspace scan is in ``duplicates.scan``. The matching itself (normalising,
blocking keys, comparisons, the Fellegi-Sunter model, reasons in words) is pure code in
``records``, ``blocking``, ``compare``, ``model`` and ``engine``.
"""

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from leadflow.contacts.services import contact_merge
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.duplicates import selectors
from leadflow.duplicates.blocking import BLOCK_CAP, block_cap, person_keys
from leadflow.duplicates.compare import pairs_compare
from leadflow.duplicates.matching import Matcher, levels_dict, matcher_for
from leadflow.duplicates.model import (
    LIST_THRESHOLD,
    probabilities,
    reason_flags,
    reasons_describe,
)
from leadflow.duplicates.models import (
    DuplicateDecision,
    DuplicateKey,
    DuplicatePair,
    DuplicateProfile,
    FoundBy,
    PairStatus,
)
from leadflow.duplicates.records import Person, person_normalise

logger = logging.getLogger("leadflow.duplicates")

REFIT_TASK = "leadflow.duplicates.tasks.weights_refit"


# --- checking contacts as they arrive and change -------------------------------------------


@dataclass
class CheckResult:
    checked: int = 0
    listed: int = 0  # pairs written (new or re-scored) at or above the listing threshold
    removed: int = 0  # open pairs that no longer reach it
    merged: int = 0  # automatic merges


def duplicates_check(
    *, workspace: Workspace, contact_ids: Iterable[int], found_by: str = FoundBy.CHANGE
) -> CheckResult:
    """Find the possible duplicates of these contacts (new or changed) and list them.

    Rewrites the contacts' blocking keys, compares each with the contacts that share a key
    (a block larger than ``BLOCK_CAP`` is too common to say anything and is skipped), scores
    each pair with the workspace's weights, lists those at or above ``LIST_THRESHOLD``,
    re-scores listed pairs, and drops open pairs of these contacts that no longer reach it.
    A dismissed pair keeps its status whatever its new score. Safe to run twice. With
    automatic merging on, pairs at or above the workspace's threshold are merged.
    """
    ids = sorted(set(contact_ids))
    result = CheckResult()
    if not ids:
        return result
    matcher = matcher_for(workspace)
    with transaction.atomic():
        rows = selectors.contact_values(workspace, ids)
        people = {row["id"]: person_normalise(row, identifying=matcher.identifying) for row in rows}
        result.checked = len(people)
        gone = set(ids) - set(people)
        keys = {pk: sorted(set(person_keys(person))) for pk, person in people.items()}
        DuplicateKey.objects.filter(workspace=workspace, contact_id__in=ids).delete()
        _keys_insert(workspace.pk, [(pk, key) for pk, own in keys.items() for key in own])
        candidates = _candidates(workspace, keys)
        others = set().union(*candidates.values()) - set(people) if candidates else set()
        for row in selectors.contact_values(workspace, others):
            people[row["id"]] = person_normalise(row, identifying=matcher.identifying)
        pairs = sorted(
            {
                (min(pk, other), max(pk, other))
                for pk, found in candidates.items()
                for other in found
                if other in people and other != pk
            }
        )
        scored = _score(pairs, people, matcher)
        now = timezone.now()
        listed = [pair for pair in scored if pair.probability >= LIST_THRESHOLD]
        pairs_write(workspace, listed, found_by=found_by, now=now)
        result.listed = len(listed)
        keep = {(pair.contact_id, pair.other_id) for pair in listed}
        # one query per side, each on its own index (an OR of the two made PostgreSQL
        # walk the workspace's open pairs: a second at a million contacts)
        open_pairs = DuplicatePair.objects.filter(workspace=workspace, status=PairStatus.OPEN)
        stale = [
            *open_pairs.filter(contact_id__in=ids).values_list("pk", "contact_id", "other_id"),
            *open_pairs.filter(other_id__in=ids).values_list("pk", "contact_id", "other_id"),
        ]
        drop = sorted({pk for pk, one, two in stale if (one, two) not in keep})
        if drop:
            result.removed = DuplicatePair.objects.filter(pk__in=drop).delete()[0]
        if gone:
            DuplicateKey.objects.filter(workspace=workspace, contact_id__in=gone).delete()
    result.merged = _auto_merge(workspace, [pair for pair in listed])
    return result


def _keys_insert(workspace_id: int, rows: list[tuple[int, str]]) -> None:
    """Insert these (contact, key) rows: one statement, no model instances (a batch of 500
    new leads has some 3,000 keys, and building them as models cost more than the
    database's own work: 150 of a check's 370 ms)."""
    if not rows:
        return
    table = connection.ops.quote_name(DuplicateKey._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} (workspace_id, contact_id, key) "
                "SELECT %s, unnest(%s::bigint[]), unnest(%s::text[])",
                [workspace_id, [pk for pk, _ in rows], [key for _, key in rows]],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {table} (workspace_id, contact_id, key) VALUES (%s, %s, %s)",  # noqa: S608
                [(workspace_id, pk, key) for pk, key in rows],
            )


def _candidates(workspace: Workspace, keys: dict[int, list[str]]) -> dict[int, set[int]]:
    """For each contact, the contacts sharing one of its keys, skipping keys shared by more
    contacts than their family's cap (``blocking.block_cap``: a common name says nothing);
    at most ``BLOCK_CAP + 1`` rows are read per key."""
    wanted = sorted({key for own in keys.values() for key in own})
    members: dict[str, list[int]] = {}
    for start in range(0, len(wanted), 500):
        ranked = (
            DuplicateKey.objects.filter(workspace=workspace, key__in=wanted[start : start + 500])
            .annotate(rank=Window(RowNumber(), partition_by="key", order_by="contact_id"))
            # Cut in SQL (Django wraps the window in a subquery): a key that thousands of
            # contacts share sends BLOCK_CAP + 1 rows, not thousands, for every batch.
            .filter(rank__lte=BLOCK_CAP + 1)
            .values_list("key", "contact_id")
        )
        for key, contact_id in ranked:
            members.setdefault(key, []).append(contact_id)
    found: dict[int, set[int]] = {}
    for pk, own in keys.items():
        for key in own:
            block = members.get(key, [])
            if len(block) > block_cap(key):
                continue
            found.setdefault(pk, set()).update(block)
    return found


@dataclass
class ScoredPair:
    contact_id: int
    other_id: int
    probability: float
    levels: dict[str, int]
    reasons: str
    reason_flags: int


def _score(
    pairs: Sequence[tuple[int, int]], people: dict[int, Person], matcher: Matcher
) -> list[ScoredPair]:
    if not pairs:
        return []
    lefts = [people[one] for one, _ in pairs]
    rights = [people[two] for _, two in pairs]
    gammas = pairs_compare(lefts, rights, matcher.comparisons)
    chances = probabilities(gammas, matcher.weights)
    return [
        ScoredPair(
            contact_id=one,
            other_id=two,
            probability=float(chance),
            levels=levels_dict(row, matcher.comparisons),
            reasons=reasons_describe(
                row, left, right, matcher.comparisons, weights=matcher.weights
            )[:300],
            reason_flags=reason_flags(row, matcher.comparisons),
        )
        for (one, two), row, chance, left, right in zip(
            pairs, gammas, chances, lefts, rights, strict=True
        )
    ]


def pairs_write(workspace: Workspace, scored: Sequence[ScoredPair], *, found_by: str, now) -> None:
    """Insert new pairs, re-score known ones (a dismissed pair stays dismissed)."""
    if not scored:
        return
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(
                workspace=workspace,
                contact_id=pair.contact_id,
                other_id=pair.other_id,
                probability=pair.probability,
                levels=pair.levels,
                reasons=pair.reasons,
                reason_flags=pair.reason_flags,
                found_by=found_by,
                created_at=now,
                scored_at=now,
            )
            for pair in scored
        ],
        update_conflicts=True,
        unique_fields=["contact", "other"],
        update_fields=["probability", "levels", "reasons", "reason_flags", "scored_at"],
        batch_size=1000,
    )


# --- decisions -----------------------------------------------------------------------------


def _decision_record(
    *,
    workspace: Workspace,
    pair: DuplicatePair,
    is_duplicate: bool,
    actor: Actor,
    automatic: bool = False,
) -> None:
    DuplicateDecision.objects.update_or_create(
        workspace=workspace,
        contact_id=pair.contact_id,
        other_id=pair.other_id,
        defaults={
            "is_duplicate": is_duplicate,
            "levels": pair.levels,
            "probability": pair.probability,
            "reasons": pair.reasons,
            "automatic": automatic,
            "decided_by": actor.label[:200],
            "decided_at": timezone.now(),
        },
    )
    transaction.on_commit(lambda: task_schedule(REFIT_TASK, workspace.pk))


def _pair_locked(workspace: Workspace, actor: Actor, pair_id: int) -> DuplicatePair:
    """The open pair, locked, when the actor may see it; NotFound otherwise."""
    selectors.pair_get(workspace, actor, pair_id)  # visibility: NotFound when not the actor's
    return _pair_open(workspace, pair_id)


@transaction.atomic
def pair_dismiss(*, workspace: Workspace, pair_id: int, actor: Actor) -> DuplicatePair:
    """ "Not a duplicate": the pair leaves the review list for good (found again, it stays
    dismissed) and becomes a labelled example that lowers similar pairs' probability.
    Safe to repeat: a pair dismissed already is returned as it is (a client's retry)."""
    seen = selectors.pair_get(workspace, actor, pair_id)  # NotFound when not the actor's
    if seen.status == PairStatus.DISMISSED:
        return seen
    pair = _pair_locked(workspace, actor, pair_id)
    pair.status = PairStatus.DISMISSED
    pair.save(update_fields=["status"])
    _decision_record(workspace=workspace, pair=pair, is_duplicate=False, actor=actor)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="duplicate.dismissed",
        changes={"pair_id": pair.pk, "contact_ids": [pair.contact_id, pair.other_id]},
    )
    return pair


@transaction.atomic
def pair_merge(
    *,
    workspace: Workspace,
    pair_id: int,
    actor: Actor,
    primary_id: int | None = None,
    choices: dict[str, str] | None = None,
    automatic: bool = False,
) -> int:
    """Merge the pair's two contacts (contacts' merge: nothing lost, the furthest stage and
    the strongest consent kept) into ``primary_id`` (default: the older contact), record
    the decision as a labelled example, and return the surviving contact's id."""
    pair = (
        _pair_locked(workspace, actor, pair_id) if not automatic else _pair_open(workspace, pair_id)
    )
    ids = {pair.contact_id, pair.other_id}
    primary = primary_id if primary_id is not None else pair.contact_id
    if primary not in ids:
        raise ValidationFailed([FieldError("primary_id", "Choose one of the pair's two contacts.")])
    secondary = (ids - {primary}).pop()
    _decision_record(
        workspace=workspace, pair=pair, is_duplicate=True, actor=actor, automatic=automatic
    )
    contact_merge(
        workspace=workspace,
        primary_id=primary,
        secondary_id=secondary,
        actor=actor,
        choices=choices,
    )
    return primary


def _pair_open(workspace: Workspace, pair_id: int) -> DuplicatePair:
    """The open pair, locked (the automatic merge's way: no actor to check)."""
    pair = (
        DuplicatePair.objects.select_for_update()
        .filter(workspace=workspace, pk=pair_id, status=PairStatus.OPEN)
        .first()
    )
    if pair is None:
        raise NotFound("No such open duplicate pair.")
    return pair


def merge_recorded(workspace: Workspace, from_id: int, to_id: int) -> None:
    """contacts' merge hook: a merge of a listed pair made anywhere (the contact page's
    merge screen, the API) is a labelled example too."""
    one, two = sorted((from_id, to_id))
    pair = DuplicatePair.objects.filter(workspace=workspace, contact_id=one, other_id=two).first()
    if (
        pair is None
        or DuplicateDecision.objects.filter(
            workspace=workspace, contact_id=one, other_id=two
        ).exists()
    ):
        return
    _decision_record(workspace=workspace, pair=pair, is_duplicate=True, actor=Actor.system("merge"))


@dataclass
class BulkMerge:
    """The pairs a bulk merge takes (highest probability first) and, once done, how many
    were merged (a pair whose contact an earlier merge took is skipped)."""

    pairs: list[DuplicatePair]
    merged: int = 0
    skipped: int = 0


BULK_MERGE_MIN = 0.5
BULK_MERGE_LIMIT = 1000


def pairs_merge_above(
    *,
    workspace: Workspace,
    actor: Actor,
    threshold: float,
    preview: bool = True,
    pair_ids: Collection[int] | None = None,
) -> BulkMerge:
    """Merge every open pair the actor sees at or above ``threshold`` (at most
    ``BULK_MERGE_LIMIT`` per call), highest first, each in its own transaction; with
    ``preview`` nothing is written and the pairs that would be merged are returned.
    ``pair_ids`` limits the merge to these pairs (the ones a preview showed: a pair found
    between the preview and the confirmation is not merged unseen)."""
    if not BULK_MERGE_MIN <= threshold <= 1:
        raise ValidationFailed(
            [FieldError("threshold", f"Choose a probability between {BULK_MERGE_MIN} and 1.")]
        )
    queryset = selectors.pair_list(workspace, actor, min_probability=threshold)
    if pair_ids is not None:
        queryset = queryset.filter(pk__in=list(pair_ids))
    pairs = list(queryset[:BULK_MERGE_LIMIT])
    plan = BulkMerge(pairs=pairs)
    if preview:
        return plan
    for pair in pairs:
        try:
            pair_merge(workspace=workspace, pair_id=pair.pk, actor=actor)
            plan.merged += 1
        except NotFound:  # an earlier merge in this batch took one of its contacts
            plan.skipped += 1
    return plan


def _auto_merge(workspace: Workspace, listed: Sequence[ScoredPair]) -> int:
    profile = selectors.profile_get(workspace)
    if not profile.auto_merge or not listed:
        return 0
    merged = 0
    for scored in sorted(listed, key=lambda pair: -pair.probability):
        if scored.probability < profile.auto_merge_threshold:
            break
        pair = DuplicatePair.objects.filter(
            workspace=workspace,
            contact_id=scored.contact_id,
            other_id=scored.other_id,
            status=PairStatus.OPEN,
        ).first()
        if pair is None:
            continue
        try:
            with transaction.atomic():
                pair_merge(
                    workspace=workspace,
                    pair_id=pair.pk,
                    actor=Actor.system("automatic merge"),
                    automatic=True,
                )
            merged += 1
        except NotFound:
            continue
    return merged


# --- the whole-workspace scan, on request ---------------------------------------------------

SCAN_TASK = "leadflow.duplicates.tasks.duplicates_scan"


@transaction.atomic
def scan_request(*, workspace: Workspace, actor: Actor) -> bool:
    """Queue a scan of the whole workspace unless one is waiting already (a double click
    queues one scan). Returns whether this call queued it."""
    profile, _ = DuplicateProfile.objects.select_for_update().get_or_create(workspace=workspace)
    queued, started = profile.scan_queued_at, profile.scan_started_at
    if queued is not None and (started is None or started < queued):
        return False
    profile.scan_queued_at = timezone.now()
    profile.save(update_fields=["scan_queued_at"])
    task_schedule(SCAN_TASK, workspace.pk)
    audit_record(workspace=workspace, actor=actor, action="duplicates.scan_requested")
    return True


# --- settings ------------------------------------------------------------------------------


@transaction.atomic
def profile_update(
    *, workspace: Workspace, actor: Actor, auto_merge: bool, auto_merge_threshold: float
) -> DuplicateProfile:
    """Turn automatic merging on or off and set its threshold (at least
    ``DuplicateProfile.AUTO_MERGE_MIN``)."""
    if not DuplicateProfile.AUTO_MERGE_MIN <= auto_merge_threshold <= 1:
        raise ValidationFailed(
            [
                FieldError(
                    "auto_merge_threshold",
                    f"Choose a probability between {DuplicateProfile.AUTO_MERGE_MIN} and 1.",
                )
            ]
        )
    profile, _ = DuplicateProfile.objects.select_for_update().get_or_create(workspace=workspace)
    before = {"auto_merge": profile.auto_merge, "threshold": profile.auto_merge_threshold}
    profile.auto_merge = auto_merge
    profile.auto_merge_threshold = auto_merge_threshold
    profile.save(update_fields=["auto_merge", "auto_merge_threshold"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="duplicates.settings_changed",
        changes={
            "before": before,
            "after": {"auto_merge": auto_merge, "threshold": auto_merge_threshold},
        },
    )
    return profile
