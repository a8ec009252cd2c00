"""Segments' writes: creating and changing segments, static lists' members, and keeping a
dynamic segment's member rows equal to its conditions (``segment_refresh``).

Guarantees:

- A segment's tree is checked against the condition registry (every bad path named in one
  ``ValidationFailed``); a ``segment`` condition names segments of the same workspace and
  never makes a cycle (A reads B reads A).
- A refresh is two set-based statements whatever the number of contacts: an
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`` of those who now match and a
  ``DELETE ... RETURNING`` of those who no longer do (the compiled tree is one subquery in
  each). Two refreshes that race (the subscriber and the periodic pass) each record only
  the rows they inserted or deleted, so a contact enters (leaves) once.
- Every entry and exit is a ``segment.entered`` / ``segment.left`` activity in the same
  transaction, announced after the commit (sequences start on them).
"""

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leadflow.contacts.activity_log import activities_announce
from leadflow.contacts.conditions import (
    ConditionContext,
    Group,
    conditions_compile,
    conditions_validate,
    tree_from_json,
    tree_to_json,
)
from leadflow.contacts.models import Activity, Contact
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.nurture.models import MemberSource, Segment, SegmentKind, SegmentMember
from leadflow.nurture.segment_conditions import segment_ids_named
from leadflow.nurture.segment_kinds import SEGMENT_ENTERED, SEGMENT_LEFT, segment_change_data

REFRESH_TASK = "leadflow.nurture.tasks.segment_refresh_task"
SYSTEM = Actor.system("segments")
MAX_STATIC_BATCH = 10_000


@dataclass(frozen=True)
class RefreshResult:
    entered: list[int]
    left: list[int]


# --- segments -------------------------------------------------------------------------------


def _clean(
    *, workspace: Workspace, segment: Segment | None, values: dict[str, Any]
) -> dict[str, Any]:
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name or len(name) > 200:
            errors.append(FieldError("name", "Give a name of 1 to 200 characters."))
        elif (
            Segment.objects.filter(workspace=workspace, name=name)
            .exclude(pk=segment.pk if segment else None)
            .exists()
        ):
            errors.append(FieldError("name", "Another segment has this name."))
        cleaned["name"] = name
    if "description" in values:
        description = values["description"] or ""
        if len(description) > 2000:
            errors.append(FieldError("description", "At most 2,000 characters."))
        cleaned["description"] = description
    kind = values.get("kind", segment.kind if segment else SegmentKind.DYNAMIC)
    if kind not in SegmentKind.values:
        errors.append(FieldError("kind", "Use dynamic or static."))
    elif segment is not None and kind != segment.kind:
        errors.append(FieldError("kind", "A segment's kind cannot change."))
    cleaned["kind"] = kind
    if "conditions" in values and kind == SegmentKind.STATIC and values["conditions"]:
        errors.append(FieldError("conditions", "A static list has no conditions."))
    elif "conditions" in values and kind == SegmentKind.DYNAMIC:
        try:
            cleaned["conditions"], cleaned["depends_on"] = _conditions_check(
                workspace, segment, values["conditions"]
            )
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    elif segment is None and kind == SegmentKind.DYNAMIC:
        errors.append(FieldError("conditions", "A dynamic segment needs conditions."))
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _conditions_check(
    workspace: Workspace, segment: Segment | None, data: Any
) -> tuple[dict[str, Any], list[int]]:
    """The tree's JSON (checked, in its compiled form) and the segments it reads."""
    tree = conditions_validate(tree_from_json(data), ConditionContext(workspace))
    named = segment_ids_named(tree)
    known = dict(Segment.objects.filter(workspace=workspace).values_list("pk", "depends_on"))
    missing = sorted(named - set(known))
    if missing:
        raise ValidationFailed(
            [FieldError("conditions", f"No segment with id {', '.join(map(str, missing))}.")]
        )
    if segment is not None:
        known[segment.pk] = sorted(named)
        if _reaches(known, start=named, target=segment.pk):
            raise ValidationFailed(
                [FieldError("conditions", "A segment cannot include itself, even through others.")]
            )
    return tree_to_json(tree), sorted(named)


def _reaches(graph: dict[int, list[int]], *, start: Iterable[int], target: int) -> bool:
    seen: set[int] = set()
    stack = list(start)
    while stack:
        node = stack.pop()
        if node == target:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(graph.get(node, ()))
    return False


def segment_create(*, workspace: Workspace, actor: Actor, values: dict[str, Any]) -> Segment:
    """A new segment; a dynamic one's members are computed in the background at once."""
    values = {"name": "", **values}
    cleaned = _clean(workspace=workspace, segment=None, values=values)
    with transaction.atomic():
        try:
            with transaction.atomic():
                segment = Segment.objects.create(
                    workspace=workspace, created_by_id=actor.user_id, **cleaned
                )
        except IntegrityError:
            raise ValidationFailed([FieldError("name", "Another segment has this name.")]) from None
        audit_record(workspace=workspace, actor=actor, action="segment.created", obj=segment)
        if segment.is_dynamic:
            task_schedule(REFRESH_TASK, workspace.pk, segment.pk)
    return segment


def segment_update(
    *, workspace: Workspace, actor: Actor, segment_id: int, values: dict[str, Any]
) -> Segment:
    """Change a segment's name, description or conditions (its kind stays); new conditions
    are applied to the members in the background."""
    with transaction.atomic():
        segment = _locked(workspace, segment_id)
        cleaned = _clean(workspace=workspace, segment=segment, values=values)
        cleaned.pop("kind", None)
        for name, value in cleaned.items():
            setattr(segment, name, value)
        segment.updated_at = timezone.now()
        try:
            with transaction.atomic():
                segment.save()
        except IntegrityError:
            raise ValidationFailed([FieldError("name", "Another segment has this name.")]) from None
        audit_record(workspace=workspace, actor=actor, action="segment.updated", obj=segment)
        if segment.is_dynamic and "conditions" in cleaned:
            task_schedule(REFRESH_TASK, workspace.pk, segment.pk)
    return segment


def segment_delete(*, workspace: Workspace, actor: Actor, segment_id: int) -> None:
    """Delete a segment and its member rows (no ``segment.left``: the segment is gone).
    Refused while another segment's conditions read it."""
    with transaction.atomic():
        segment = _locked(workspace, segment_id)
        readers = [
            other.name
            for other in Segment.objects.filter(workspace=workspace).exclude(pk=segment.pk)
            if segment.pk in (other.depends_on or [])
        ]
        if readers:
            raise Conflict(
                f"Segments {', '.join(sorted(readers))} read this one; change them first.",
                code="segment_in_use",
            )
        audit_record(workspace=workspace, actor=actor, action="segment.deleted", obj=segment)
        segment.delete()


def _locked(workspace: Workspace, segment_id: int) -> Segment:
    segment = Segment.objects.select_for_update().filter(workspace=workspace, pk=segment_id).first()
    if segment is None:
        raise NotFound("No such segment.")
    return segment


# --- static lists ---------------------------------------------------------------------------


def segment_members_add(
    *,
    workspace: Workspace,
    segment: Segment,
    contact_ids: Iterable[int],
    actor: Actor,
    source: str = MemberSource.MANUAL,
) -> list[int]:
    """Add contacts of the workspace to a static list (ids of other workspaces and unknown
    ids are ignored; members already there stay as they were). Returns the ids added, each
    with a ``segment.entered``. Safe to call twice and concurrently."""
    _static(workspace, segment)
    ids = sorted({int(pk) for pk in contact_ids})[:MAX_STATIC_BATCH]
    if not ids:
        return []
    chosen = Contact.objects.filter(workspace=workspace, pk__in=ids).values("pk")
    with transaction.atomic():
        entered = _insert_members(segment, chosen, source=source, now=timezone.now())
        _record(workspace, segment, entered, SEGMENT_ENTERED, actor=actor, source=source)
    return entered


def segment_members_remove(
    *,
    workspace: Workspace,
    segment: Segment,
    contact_ids: Iterable[int],
    actor: Actor,
    source: str = MemberSource.MANUAL,
) -> list[int]:
    """Remove contacts from a static list; returns the ids removed, each with a
    ``segment.left``."""
    _static(workspace, segment)
    ids = sorted({int(pk) for pk in contact_ids})[:MAX_STATIC_BATCH]
    if not ids:
        return []
    with transaction.atomic():
        left = _delete_members(segment, contact_ids=ids, keep=None)
        _record(workspace, segment, left, SEGMENT_LEFT, actor=actor, source=source)
    return left


def _static(workspace: Workspace, segment: Segment) -> None:
    if segment.workspace_id != workspace.pk:
        raise NotFound("No such segment.")
    if segment.kind != SegmentKind.STATIC:
        raise Conflict(
            "Members of a dynamic segment follow its conditions; use a static list.",
            code="segment_dynamic",
        )


def memberships_merge(workspace: Workspace, from_id: int, to_id: int) -> None:
    """A merge hook (contacts' ``MERGE_HOOKS``): the merged contact's memberships go to the
    contact that stays, except where it is a member already (those rows go with the merged
    contact). Dynamic segments then follow the merge's own activity."""
    already = SegmentMember.objects.filter(workspace=workspace, contact_id=to_id).values(
        "segment_id"
    )
    SegmentMember.objects.filter(workspace=workspace, contact_id=from_id).exclude(
        segment_id__in=already
    ).update(contact_id=to_id)


# --- keeping dynamic segments current -------------------------------------------------------


def segment_matching(segment: Segment, now: dt.datetime | None = None):
    """The workspace's contacts the segment's conditions match now (a queryset: one query)."""
    context = ConditionContext(segment.workspace, now=now or timezone.now())
    tree = tree_from_json(segment.conditions) if segment.conditions else Group("any", ())
    return Contact.objects.filter(workspace_id=segment.workspace_id).filter(
        conditions_compile(tree, context)
    )


def segment_refresh(
    *,
    segment: Segment,
    contact_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
) -> RefreshResult:
    """Make the dynamic segment's member rows match its conditions, for ``contact_ids`` only
    when given (the contacts an activity touched) or for the whole workspace: who now
    matches enters, who no longer does leaves, each recorded as an activity. Call it in a
    transaction (the subscriber's) or alone (it opens one)."""
    if not segment.is_dynamic:
        return RefreshResult([], [])
    now = now or timezone.now()
    ids = None if contact_ids is None else sorted(set(contact_ids))
    if ids is not None and not ids:
        return RefreshResult([], [])
    matching = segment_matching(segment, now)
    if ids is not None:
        matching = matching.filter(pk__in=ids)
    with transaction.atomic():
        entered = _insert_members(
            segment, matching.values("pk"), source=MemberSource.CONDITIONS, now=now
        )
        left = _delete_members(segment, contact_ids=ids, keep=matching.values("pk"))
        _record(segment.workspace, segment, entered, SEGMENT_ENTERED, actor=SYSTEM)
        _record(segment.workspace, segment, left, SEGMENT_LEFT, actor=SYSTEM)
        if ids is None:
            Segment.objects.filter(pk=segment.pk).update(refreshed_at=now)
    return RefreshResult(entered, left)


def segments_in_order(segments: Iterable[Segment]) -> list[Segment]:
    """Dynamic segments, each after the segments its conditions read (no cycles: refused on
    save; a stored one would be broken by id order)."""
    pending = {segment.pk: segment for segment in segments if segment.is_dynamic}
    ordered: list[Segment] = []
    placed: set[int] = set()
    visiting: set[int] = set()

    def place(segment: Segment) -> None:
        if segment.pk in placed or segment.pk in visiting:
            return
        visiting.add(segment.pk)
        for other in sorted(segment.depends_on or []):
            if other in pending:
                place(pending[other])
        visiting.discard(segment.pk)
        placed.add(segment.pk)
        ordered.append(segment)

    for pk in sorted(pending):
        place(pending[pk])
    return ordered


def segments_refresh(
    *, workspace: Workspace, contact_ids: Iterable[int] | None = None, now=None
) -> dict[int, RefreshResult]:
    """Refresh every dynamic segment of the workspace, in dependency order (so a segment
    that reads another sees its new members in the same pass)."""
    segments = list(
        Segment.objects.filter(workspace=workspace, kind=SegmentKind.DYNAMIC).select_related(
            "workspace"
        )
    )
    ids = None if contact_ids is None else sorted(set(contact_ids))
    results = {}
    for segment in segments_in_order(segments):
        results[segment.pk] = segment_refresh(segment=segment, contact_ids=ids, now=now)
    return results


# --- set-based statements -------------------------------------------------------------------


def _insert_members(segment: Segment, chosen, *, source: str, now: dt.datetime) -> list[int]:
    """INSERT the chosen contacts (a ``values("pk")`` queryset) as members; returns the ids
    this statement inserted (a row already there, or inserted by a racing refresh, is not)."""
    select_sql, params = chosen.order_by().query.sql_with_params()
    table = SegmentMember._meta.db_table
    # Members already there are skipped before the insert (a steady refresh writes nothing);
    # ON CONFLICT still settles a race with another refresh. A WHERE also lets SQLite tell
    # the SELECT's end from the ON CONFLICT clause.
    sql = (
        f"WITH chosen (id) AS ({select_sql}) "  # noqa: S608
        f"INSERT INTO {table} (workspace_id, segment_id, contact_id, entered_at, source) "
        "SELECT %s, %s, chosen.id, %s, %s FROM chosen WHERE NOT EXISTS (SELECT 1 FROM "
        f"{table} AS present WHERE present.segment_id = %s AND present.contact_id = chosen.id) "
        "ON CONFLICT (segment_id, contact_id) DO NOTHING RETURNING contact_id"
    )
    with connection.cursor() as cursor:
        # Adapted as the ORM does (SQLite keeps naive UTC text; compared as text).
        moment = connection.ops.adapt_datetimefield_value(now)
        cursor.execute(sql, [*params, segment.workspace_id, segment.pk, moment, source, segment.pk])
        return sorted(row[0] for row in cursor.fetchall())


def _delete_members(segment: Segment, *, contact_ids: list[int] | None, keep) -> list[int]:
    """DELETE the members (of ``contact_ids`` when given) not in ``keep`` (a ``values("pk")``
    queryset, or None: all of them); returns the ids this statement deleted."""
    rows = SegmentMember.objects.filter(segment_id=segment.pk)
    if contact_ids is not None:
        rows = rows.filter(contact_id__in=contact_ids)
    if keep is not None:
        rows = rows.exclude(contact_id__in=keep)
    where_sql, params = rows.values("pk").order_by().query.sql_with_params()
    table = SegmentMember._meta.db_table
    sql = f"DELETE FROM {table} WHERE id IN ({where_sql}) RETURNING contact_id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def _record(
    workspace: Workspace,
    segment: Segment,
    contact_ids: list[int],
    kind: str,
    *,
    actor: Actor,
    source: str = MemberSource.CONDITIONS,
) -> None:
    """One ``kind`` activity per contact, written in one statement (a segment's first fill
    may enter a million contacts) and announced."""
    if not contact_ids:
        return
    data = json.dumps(
        segment_change_data(segment_id=segment.pk, segment=segment.name, source=source)
    )
    moment = connection.ops.adapt_datetimefield_value(timezone.now())
    table = Activity._meta.db_table
    if connection.vendor == "postgresql":
        ids_sql, data_sql, ids_param = "SELECT unnest(%s::bigint[])", "%s::jsonb", contact_ids
    else:
        ids_sql, data_sql = "SELECT value FROM json_each(%s)", "json(%s)"
        ids_param = json.dumps(contact_ids)
    sql = (
        f"WITH chosen (id) AS ({ids_sql}) "  # noqa: S608
        f"INSERT INTO {table} (workspace_id, contact_id, kind, occurred_at, actor_user_id, "
        f"actor_api_key_id, actor_label, data) SELECT %s, chosen.id, %s, %s, %s, %s, %s, "
        f"{data_sql} FROM chosen WHERE 1 = 1 RETURNING id"
    )
    params = [
        ids_param,
        workspace.pk,
        kind,
        moment,
        actor.user_id,
        actor.api_key_id,
        actor.label[:200],
        data,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        up_to_id = max(row[0] for row in cursor.fetchall())
    activities_announce(workspace_id=workspace.pk, contact_ids=contact_ids, up_to_id=up_to_id)
