"""What marketing email's tracking writes (docs/nurture/tracking.md):

- ``sent_record``: for deliveries just recorded as sent (``Delivery.record_pending``), the
  ``email.marketing_sent`` activities and one more ignored message on each person's pacing row,
  set-based for a batch; a person who has now ignored ``pause_after_ignored`` messages
  in a row gets a break (``ContactPacing.paused_until``, ``LEADFLOW_NURTURE_BREAK_DAYS``).
  Exactly once: the pending flag is taken (``UPDATE … RETURNING``) in the transaction
  that writes them, and a run picks up what a killed one left (``message_deliver_run``).
- ``engagement_record``: an open of the pixel or a click of a tracked link: kept as an
  ``EmailEngagement`` row, counted (and then an ``email.opened`` / ``.clicked``
  activity, the ignored count back to 0 and an automatic break ended) or filtered as a
  scanner's; a counted open once per delivery, a click once per (delivery, link) in
  ``LEADFLOW_CLICK_DEDUPE_SECONDS``.
"""

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from leadflow.contacts.activity_log import activities_announce_written
from leadflow.contacts.models import Activity
from leadflow.contacts.services import activities_record_many
from leadflow.nurture.models import (
    ContactPacing,
    Delivery,
    EmailEngagement,
    EngagementKind,
    Message,
)
from leadflow.nurture.selectors.pacing import pacing_settings_get
from leadflow.nurture.tracking import Tracked, scanner_reason
from leadflow.nurture.tracking_kinds import (
    BREAK_ENDED,
    BREAK_STARTED,
    EMAIL_CLICKED,
    EMAIL_OPENED,
    EMAIL_SENT,
    break_data,
    email_data,
)

RECORD_BATCH = 1000
ACTOR_LABEL = "marketing email"


def _activities_write(rows: list[tuple[int, int, str, dict, dt.datetime]]) -> None:
    """Append (workspace, contact, kind, data, when) activities in one INSERT and announce
    them (one announcement per transaction, after the commit)."""
    activities_record_many(
        Activity(
            workspace_id=workspace_id,
            contact_id=contact_id,
            kind=kind,
            data=data,
            occurred_at=when,
            actor_label=ACTOR_LABEL,
        )
        for workspace_id, contact_id, kind, data, when in rows
    )


def _take_pending(ids: list[int] | None, message_pk: int | None) -> list[int]:
    """Clear the pending flag of these deliveries (or a message's), returning the ids this
    statement cleared: a concurrent run's statement gets none of them."""
    rows = Delivery.objects.filter(record_pending=True)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    if message_pk is not None:
        rows = rows.filter(message_id=message_pk)
    subquery, params = rows.order_by("id").values("id")[:RECORD_BATCH].query.sql_with_params()
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET record_pending = FALSE "  # noqa: S608
            f"WHERE id IN ({subquery}) AND record_pending RETURNING id",
            params,
        )
        return sorted(row[0] for row in cursor.fetchall())


def sent_record(*, ids: list[int] | None = None, message_pk: int | None = None) -> int:
    """Write what sending these deliveries (or the message's pending ones) means: the
    ``email.marketing_sent`` activities, each person's ignored count up by one, a break
    for those who reached the workspace's ``pause_after_ignored``. Call it inside a
    transaction (the sender's last "sent" commit) or alone; returns how many it recorded."""
    if ids is not None and not ids:
        return 0
    total = 0
    while True:
        with transaction.atomic():
            taken = _take_pending(ids, message_pk)
            if not taken:
                return total
            now = timezone.now()
            by_workspace: dict[int, Counter] = {}
            for workspace_id, contact_id in _sent_activities_insert(taken, now):
                by_workspace.setdefault(workspace_id, Counter())[contact_id] += 1
            for workspace_id, sent in by_workspace.items():
                _ignored_add(workspace_id, sent, now)
        total += len(taken)


def _sent_activities_insert(taken: list[int], now: dt.datetime) -> list[tuple[int, int]]:
    """One ``email.marketing_sent`` per delivery, built in one ``INSERT … SELECT`` (the
    payload too: ``email_data``'s keys), announced; returns (workspace, contact) of each.
    Plain SQL: it runs for every batch the sender sends (bench/bench_send.py)."""
    if connection.vendor == "postgresql":
        ids_sql, build = "SELECT unnest(%s::bigint[])", "jsonb_build_object"
        ids_param = taken
    else:
        ids_sql, build = "SELECT value FROM json_each(%s)", "json_object"
        ids_param = json.dumps(taken)
    sql = (
        f"WITH taken (id) AS ({ids_sql}) "  # noqa: S608
        f"INSERT INTO {Activity._meta.db_table} (workspace_id, contact_id, kind, occurred_at, "
        "actor_user_id, actor_api_key_id, actor_label, data) "
        "SELECT d.workspace_id, d.contact_id, %s, COALESCE(d.sent_at, %s), NULL, NULL, %s, "
        f"{build}('message_id', d.message_id, 'message', m.name, 'delivery_id', d.id) "
        f"FROM {Delivery._meta.db_table} d JOIN {Message._meta.db_table} m "
        "ON m.id = d.message_id WHERE d.id IN (SELECT id FROM taken) ORDER BY d.id "
        "RETURNING id, workspace_id, contact_id"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids_param, EMAIL_SENT, moment, ACTOR_LABEL])
        written = cursor.fetchall()
    activities_announce_written(written)
    return [(workspace_id, contact_id) for _, workspace_id, contact_id in written]


def _ignored_add(workspace_id: int, sent: Counter, now: dt.datetime) -> None:
    """One more ignored message for each person (as many as were sent to them), and a
    break for those at the workspace's limit who are not on one. Their pacing rows are
    locked in id order first, as ``pacing_claim`` does, so the two never deadlock."""
    contact_ids = sorted(sent)
    locked = set(
        ContactPacing.objects.select_for_update()
        .filter(workspace_id=workspace_id, contact_id__in=contact_ids)
        .order_by("contact_id")
        .values_list("pk", flat=True)
    )
    if len(locked) < len(contact_ids):  # sent without a pacing row (none in the sender)
        ContactPacing.objects.bulk_create(
            [
                ContactPacing(contact_id=pk, workspace_id=workspace_id)
                for pk in contact_ids
                if pk not in locked
            ],
            ignore_conflicts=True,
        )
    by_count: dict[int, list[int]] = {}
    for pk, count in sent.items():
        by_count.setdefault(count, []).append(pk)
    for count, group in by_count.items():
        ContactPacing.objects.filter(workspace_id=workspace_id, contact_id__in=group).update(
            ignored_in_row=F("ignored_in_row") + count
        )
    limit = pacing_settings_get(workspace_id).pause_after_ignored
    if not limit:
        return
    due = ContactPacing.objects.filter(
        Q(paused_until__isnull=True) | Q(paused_until__lte=now),
        workspace_id=workspace_id,
        contact_id__in=contact_ids,
        ignored_in_row__gte=limit,
    )
    breaking = list(due.values_list("contact_id", "ignored_in_row"))
    if not breaking:
        return
    until = now + dt.timedelta(days=settings.LEADFLOW_NURTURE_BREAK_DAYS)
    ContactPacing.objects.filter(
        workspace_id=workspace_id, contact_id__in=[pk for pk, _ in breaking]
    ).update(paused_until=until)
    _activities_write(
        [
            (workspace_id, pk, BREAK_STARTED, break_data(ignored=ignored, until=until), now)
            for pk, ignored in breaking
        ]
    )


@dataclass(frozen=True)
class Engagement:
    """What became of an open or click: its delivery's contact and workspace, whether it
    counted (not a scanner's) and whether it was new (not a repeat within the window)."""

    workspace_id: int
    contact_id: int
    counted: bool
    recorded: bool
    reason: str = ""


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest() if url else ""


def engagement_record(
    *, tracked: Tracked, method: str, user_agent: str, now: dt.datetime | None = None
) -> Engagement | None:
    """Record an open (``tracked.url`` empty) or a click of a delivery's email; None when
    the delivery is not there (the contact was erased): nothing is written."""
    now = now or timezone.now()
    kind = EngagementKind.CLICK if tracked.url else EngagementKind.OPEN
    row = (
        Delivery.objects.filter(pk=tracked.delivery_id, workspace_id=tracked.workspace_id)
        .values("id", "workspace_id", "contact_id", "message_id", "message__name", "handed_at")
        .first()
    )
    if row is None:
        return None
    reason = scanner_reason(
        method=method, user_agent=user_agent, handed_at=row["handed_at"], now=now
    )
    counted = not reason
    key = url_key(tracked.url)
    window = dt.timedelta(seconds=settings.LEADFLOW_CLICK_DEDUPE_SECONDS)
    with transaction.atomic():
        # One hit of a delivery at a time: the look for an earlier one and the insert
        # cannot interleave with another request's (a double click, a retry).
        list(Delivery.objects.select_for_update().filter(pk=row["id"]).values_list("pk"))
        earlier = EmailEngagement.objects.filter(
            delivery_id=row["id"], kind=kind, url_key=key, counted=counted
        )
        if not (kind == EngagementKind.OPEN and counted):
            earlier = earlier.filter(occurred_at__gte=now - window)
        outcome = Engagement(row["workspace_id"], row["contact_id"], counted, False, reason)
        if earlier.exists():
            return outcome
        EmailEngagement.objects.create(
            workspace_id=row["workspace_id"],
            message_id=row["message_id"],
            delivery_id=row["id"],
            contact_id=row["contact_id"],
            kind=kind,
            url=tracked.url,
            url_key=key,
            occurred_at=now,
            counted=counted,
            filter_reason=reason[:100],
            user_agent=(user_agent or "")[:300],
        )
        if counted:
            data = email_data(
                message_id=row["message_id"],
                message=row["message__name"],
                delivery_id=row["id"],
                url=tracked.url,
            )
            activity = EMAIL_CLICKED if tracked.url else EMAIL_OPENED
            written = [(row["workspace_id"], row["contact_id"], activity, data, now)]
            written += _engaged(row["workspace_id"], row["contact_id"], now)
            _activities_write(written)
    return Engagement(row["workspace_id"], row["contact_id"], counted, True, reason)


def _engaged(workspace_id: int, contact_id: int, now: dt.datetime) -> list:
    """The person engaged: their ignored count back to 0 and an automatic break ended
    (with a ``email.break_ended`` activity when there was one)."""
    rows = ContactPacing.objects.filter(workspace_id=workspace_id, contact_id=contact_id)
    on_break = rows.filter(paused_until__gt=now).exists()
    rows.update(ignored_in_row=0, paused_until=None)
    if not on_break:
        return []
    return [(workspace_id, contact_id, BREAK_ENDED, {}, now)]
