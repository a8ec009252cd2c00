"""The activity log's announcement and its subscribers: "these contacts got these activities,
up to id N", and what each subscriber has read of the log since.

Every path that appends activities (the ORM services, the import's set-based writer, the
capture fast path, tracking's identify and merge) calls :func:`activities_announce` inside
its transaction. Calls within one transaction are gathered; after the commit, one
:class:`Announcement` per workspace goes to every in-process listener in
``ANNOUNCEMENT_SUBSCRIBERS`` and, when activity subscribers are registered, schedules one
delivery task for that workspace. A rolled-back transaction announces nothing.

Activity subscribers (scoring, routing, sequences, webhooks, analytics) register by name in
their app's ``AppConfig.ready`` with :func:`activity_subscriber_register` (no Django
signals). The worker delivers to them (:func:`activities_deliver`):

- Each subscriber keeps a watermark per workspace (or one for all workspaces): the last
  activity id it processed (``ActivityWatermark``). A delivery reads the log above it, in id
  order, in batches of ``BATCH_SIZE``, calls the handler with the activities of its kinds,
  and advances the watermark IN THE SAME TRANSACTION as the handler's work: a handler that
  raises (a crash) rolls both back, and the batch is delivered again, never skipped.
- Activities are delivered once each, in id order. On PostgreSQL a lower id can commit after
  a higher one; a delivery passes an id only once no transaction that could still commit a
  lower one in its workspace is running (:func:`workspace_log_final`; when the workspace's
  writers never pause, the horizon over the whole server, :func:`_safe_bound`; decision
  0018).
- A subscriber registered ``after`` others reads the log only up to their watermarks and
  runs right after them in a delivery: routing reads a new lead once scoring has scored
  it, so a rule on the score, grade or probability sees the lead's own.
- :func:`activities_catch_up` delivers everything above every watermark (after a missed
  announcement or a worker crash): ``leadflow manage activities_catch_up``, and scheduled
  when ``leadflow worker`` starts.

The announcement itself costs one call per transaction, whatever the number of rows.
"""

import itertools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connection, transaction

from leadflow.contacts.models import Activity, ActivityWatermark
from leadflow.core.models import Workspace
from leadflow.core.oncommit import gathering
from leadflow.core.tasks import task_schedule_coalesced

logger = logging.getLogger("leadflow.activities")

DELIVER_TASK = "leadflow.contacts.tasks.activities_deliver"
# Activities per handler call. The subscribers are set-based, so a batch's cost is mostly
# fixed (scoring: a ledger INSERT per rule, one UPDATE of the scores): with 50, scoring a
# capture peak took 7.5 ms a lead; with 500, 0.7 ms (bench_routing, issue 14 note).
BATCH_SIZE = 500
# A delivery held back by transactions still running (see _safe_bound) looks again every
# HELD_POLL seconds for up to HELD_WAIT before it leaves it to a later run.
HELD_POLL = 0.02
HELD_WAIT = 0.5
# The advisory lock every transaction appending to a workspace's log holds (class key; the
# workspace id is the second key): see workspace_log_final and contacts migration 0020.
WRITERS_LOCK = 1279672643


@dataclass(frozen=True)
class Announcement:
    """What one committed transaction appended to one workspace's activity log."""

    workspace_id: int
    contact_ids: frozenset[int]
    up_to_id: int  # the highest activity id the transaction wrote


Subscriber = Callable[[Announcement], None]
ANNOUNCEMENT_SUBSCRIBERS: list[Subscriber] = []

_PENDING_ATTR = "leadflow_pending_announcements"


@dataclass(frozen=True)
class ActivitySubscriber:
    """A consumer of the activity log. ``handler(activities)`` gets new activities (model
    rows, id order, only the ``kinds`` asked for; all when None) and runs inside the
    transaction that advances its watermark: it must not commit on its own, and it may see
    a batch again after a crash (its work is rolled back with the watermark)."""

    name: str
    handler: Callable[[list[Activity]], None]
    kinds: frozenset[str] | None = None
    per_workspace: bool = True  # False: one watermark over all workspaces
    after: tuple[str, ...] = ()  # subscribers whose watermarks this one stays behind


ACTIVITY_SUBSCRIBERS: dict[str, ActivitySubscriber] = {}


def activity_subscriber_register(
    name: str,
    handler: Callable[[list[Activity]], None],
    *,
    kinds: Iterable[str] | None = None,
    per_workspace: bool = True,
    after: Iterable[str] = (),
) -> ActivitySubscriber:
    """Subscribe ``handler`` to the activity log under ``name`` (its watermarks' key: keep it
    stable). Call it from ``AppConfig.ready``; registering a name again replaces it. A new
    subscriber starts at the beginning of the log (it catches up on history). ``after``:
    names of per-workspace subscribers whose work this one needs done first (it gets an
    activity once they all have had it; a name not registered is ignored)."""
    if not name or len(name) > 100:
        raise ValueError("A subscriber's name is 1 to 100 characters.")
    subscriber = ActivitySubscriber(
        name=name,
        handler=handler,
        kinds=frozenset(kinds) if kinds is not None else None,
        per_workspace=per_workspace,
        after=tuple(after),
    )
    if subscriber.after and not per_workspace:
        raise ValueError("Only a per-workspace subscriber can come after others.")
    ACTIVITY_SUBSCRIBERS[name] = subscriber
    return subscriber


def activity_subscriber_unregister(name: str) -> None:
    """Stop delivering to ``name`` (its watermarks stay, so it resumes where it stopped)."""
    ACTIVITY_SUBSCRIBERS.pop(name, None)


# --- the announcement -------------------------------------------------------------------------


def activities_announce(
    *, workspace_id: int, contact_ids: Iterable[int], up_to_id: int, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Note that the current transaction appended activities for ``contact_ids`` in
    ``workspace_id``, the highest with id ``up_to_id``. Outside a transaction the
    announcement goes out at once."""
    gathered = gathering(_PENDING_ATTR, _deliver, using=using)
    if gathered is None:
        _deliver({workspace_id: (set(contact_ids), up_to_id)})
        return
    contacts, highest = gathered.get(workspace_id, (set(), 0))
    contacts.update(contact_ids)
    gathered[workspace_id] = (contacts, max(highest, up_to_id))


def activities_announce_written(rows: Iterable[tuple[int, int, int]]) -> None:
    """Announce appended activities given as (id, workspace id, contact id) rows, as an
    ``INSERT ... RETURNING`` gives them back: one announcement per workspace."""
    reached: dict[int, tuple[set[int], int]] = {}
    for pk, workspace_id, contact_id in rows:
        contacts, highest = reached.get(workspace_id, (set(), 0))
        contacts.add(contact_id)
        reached[workspace_id] = (contacts, max(highest, pk))
    for workspace_id, (contacts, highest) in reached.items():
        activities_announce(
            workspace_id=workspace_id, contact_ids=sorted(contacts), up_to_id=highest
        )


def _deliver(workspaces: dict[int, tuple[set[int], int]]) -> None:
    for workspace_id, (contacts, highest) in workspaces.items():
        announcement = Announcement(workspace_id, frozenset(contacts), highest)
        for subscriber in list(ANNOUNCEMENT_SUBSCRIBERS):
            subscriber(announcement)
        # After the commit: the delivery reads committed rows. Lost if the process dies
        # right here; the catch-up at the worker's start delivers it then. One waiting
        # delivery per workspace is enough: it has not started, so it reads this commit.
        if ACTIVITY_SUBSCRIBERS:
            task_schedule_coalesced(DELIVER_TASK, workspace_id)


# --- delivery ---------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """One or more subscribers' handlers raised; their watermarks did not move."""


class WatermarkMoved(Exception):
    """Another delivery advanced this watermark meanwhile; this one's batch is undone."""


@dataclass
class DeliveryResult:
    delivered: int = 0  # activities handed to handlers
    behind: bool = False  # committed activities wait for an older transaction: run again soon
    more: bool = False  # the time budget ran out with batches left: run again now
    busy: bool = False  # another delivery held a watermark: run again in a moment


_rotation = itertools.count()


@dataclass
class _Run:
    """One delivery run's limits: stop starting batches once ``budget`` seconds have gone
    (None: deliver everything); the run's first batch is always delivered."""

    budget: float | None
    started: float = field(default_factory=time.monotonic)

    def spent(self) -> bool:
        return self.budget is not None and time.monotonic() - self.started >= self.budget


def activities_deliver(*, workspace_id: int, budget: float | None = None) -> DeliveryResult:
    """Deliver to every subscriber the activities above its watermark in ``workspace_id``
    (and to all-workspace subscribers, above theirs). Each subscriber in its own
    transactions, so one that fails does not hold the others back; raises DeliveryFailed
    after the others had theirs. Safe to run twice and concurrently: a subscriber whose
    watermark another delivery holds is skipped (``busy``: that one is delivering).

    With a ``budget`` (seconds) the run stops starting batches when it is spent and says
    ``more``: the worker's task schedules itself again, behind fresh deliveries and the
    other workspaces' runs, so a workspace taking in hundreds of leads a second does not
    hold one worker, or both, while a quiet workspace's new lead waits to be scored."""
    result = DeliveryResult()
    if not Workspace.objects.filter(pk=workspace_id).exists():
        return result  # deleted (a demo reset) after the run was queued: nothing to deliver
    run = _Run(budget)
    failed = []
    subscribers = list(ACTIVITY_SUBSCRIBERS.values())
    # The budget covers the whole run: after the first subscriber's first batch, one that
    # has none left waits for the next run. Each run starts with the next subscriber, so
    # all of them move on while a backlog is worked off a slice at a time.
    start = next(_rotation) % len(subscribers) if subscribers else 0
    ran: set[str] = set()
    for position, subscriber in enumerate(_ordered(subscribers[start:] + subscribers[:start])):
        # One that comes after others runs right after them, whatever the budget: a new
        # lead's routing waits on its scoring, not on the next run.
        follows = bool(subscriber.after) and ran.issuperset(
            name for name in subscriber.after if name in ACTIVITY_SUBSCRIBERS
        )
        ran.add(subscriber.name)
        if position and run.spent() and not follows:
            result.more = True
            break
        scope = workspace_id if subscriber.per_workspace else None
        try:
            # A subscriber that failed in this run does not hold back those after it.
            one = _subscriber_deliver(subscriber, scope, run, ignore=frozenset(failed))
        except Exception:
            logger.exception(
                "activity subscriber %s failed; it will get the batch again", subscriber.name
            )
            failed.append(subscriber.name)
            continue
        result.delivered += one.delivered
        result.behind |= one.behind
        result.more |= one.more
        result.busy |= one.busy
    if failed:
        raise DeliveryFailed(", ".join(failed))
    return result


def _ordered(subscribers: list[ActivitySubscriber]) -> list[ActivitySubscriber]:
    """The run's order: as given, except that a subscriber registered ``after`` others comes
    right after the last of them (those named but not registered are ignored)."""
    names = {subscriber.name for subscriber in subscribers}
    placed: list[ActivitySubscriber] = []
    waiting = [subscriber for subscriber in subscribers if set(subscriber.after) & names]
    for subscriber in subscribers:
        if subscriber in waiting:
            continue
        placed.append(subscriber)
        done = {one.name for one in placed}
        for dependent in list(waiting):
            if done.issuperset(set(dependent.after) & names):
                placed.append(dependent)
                waiting.remove(dependent)
                done.add(dependent.name)
    return placed + waiting  # a cycle: as given


def _after_bound(
    subscriber: ActivitySubscriber, workspace_id: int | None, ignore: frozenset[str]
) -> int | None:
    """The lowest watermark among the subscribers ``subscriber`` comes after (0 when one has
    none yet), or None when it comes after none that is registered (or not ignored: one
    that failed in this run must not stop the others, routing behind a broken scoring)."""
    names = [
        name for name in subscriber.after if name in ACTIVITY_SUBSCRIBERS and name not in ignore
    ]
    if not names or workspace_id is None:
        return None
    marks = dict(
        ActivityWatermark.objects.filter(
            subscriber__in=names, workspace_id=workspace_id
        ).values_list("subscriber", "last_activity_id")
    )
    return min(marks.get(name, 0) for name in names)


def activities_catch_up() -> DeliveryResult:
    """Deliver everything above every subscriber's watermarks, in every workspace: after a
    missed announcement, a worker crash, or a subscriber added to a running install."""
    result = DeliveryResult()
    if not ACTIVITY_SUBSCRIBERS:
        return result
    for workspace_id in Workspace.objects.order_by("pk").values_list("pk", flat=True):
        one = activities_deliver(workspace_id=workspace_id)
        result.delivered += one.delivered
        result.behind |= one.behind
        result.busy |= one.busy
    return result


def _subscriber_deliver(
    subscriber: ActivitySubscriber,
    workspace_id: int | None,
    run: _Run,
    ignore: frozenset[str] = frozenset(),
) -> DeliveryResult:
    """Batches until the subscriber has everything up to the safe bound, or the run's
    budget is spent: how many it got, whether committed activities above it still wait for
    an older transaction (``behind``), whether batches are left (``more``), or whether
    another delivery holds the watermark (``busy``: nothing done)."""
    delivered = 0
    held_since: float | None = None
    while True:
        with transaction.atomic():
            horizon = _horizon()  # first: before this transaction takes a lock
            mark = _watermark_lock(subscriber.name, workspace_id)
            if mark is None:
                return DeliveryResult(delivered=delivered, busy=True)
            final = None if workspace_id is None else workspace_log_final(workspace_id)
            last = mark.last_activity_id
            safe = _safe_bound(mark, horizon) if final is None else max(last, final)
            bound = _after_bound(subscriber, workspace_id, ignore)
            # Held by those it comes after, not by a running transaction: their next
            # delivery (already due: what they have not had was announced) brings it on.
            capped = bound is not None and bound < safe
            if capped:
                safe = max(last, bound)
            rows = Activity.objects.filter(id__gt=mark.last_activity_id, id__lte=safe)
            if workspace_id is not None:
                rows = rows.filter(workspace_id=workspace_id)
            if subscriber.kinds is not None:
                rows = rows.filter(kind__in=subscriber.kinds)
            batch = list(rows.order_by("id")[:BATCH_SIZE])
            full = len(batch) == BATCH_SIZE
            if batch:
                subscriber.handler(batch)
            reached = batch[-1].pk if full else max(mark.last_activity_id, safe)
            moved = ActivityWatermark.objects.filter(
                pk=mark.pk, last_activity_id=mark.last_activity_id
            ).update(
                last_activity_id=reached,
                horizon_activity_id=mark.horizon_activity_id,
                horizon_transaction=mark.horizon_transaction,
            )
            if not moved:  # another delivery moved it meanwhile: undo ours, theirs stands
                raise WatermarkMoved(subscriber.name)
        delivered += len(batch)
        if full:
            if run.spent():
                return DeliveryResult(delivered=delivered, more=True)
            continue
        # Held back by transactions that were running at the snapshot (PostgreSQL): they
        # are mostly a few milliseconds long, so look again here for a moment rather than
        # later from the queue (the new lead's score waits on this).
        if capped or safe >= horizon.highest or not _waiting(workspace_id, reached):
            break
        now = time.monotonic()
        held_since = held_since or now
        if now - held_since >= HELD_WAIT:
            break
        time.sleep(HELD_POLL)
    behind = not capped and safe < horizon.highest and _waiting(workspace_id, reached)
    return DeliveryResult(delivered=delivered, behind=behind)


def _waiting(workspace_id: int | None, above: int) -> bool:
    rows = Activity.objects.filter(id__gt=above)
    if workspace_id is not None:
        rows = rows.filter(workspace_id=workspace_id)
    return rows.exists()


def _watermark_lock(name: str, workspace_id: int | None) -> ActivityWatermark | None:
    """The subscriber's watermark, locked for this transaction; None when another delivery
    holds it (PostgreSQL: SKIP LOCKED; SQLite runs one writer at a time)."""
    marks = ActivityWatermark.objects.filter(subscriber=name, workspace_id=workspace_id)
    locked = marks.select_for_update(skip_locked=True)
    mark = locked.first()
    if mark is None and not marks.exists():
        ActivityWatermark.objects.bulk_create(
            [ActivityWatermark(subscriber=name, workspace_id=workspace_id)], ignore_conflicts=True
        )
        mark = locked.first()
    return mark


# --- commit order on PostgreSQL ---------------------------------------------------------------

# One statement, so all three come from the same snapshot: the highest committed activity
# id, the oldest transaction still running (other than this one; the next transaction id
# when none runs) and the next transaction id.
_HORIZON_SQL = """
SELECT (SELECT max(id) FROM contacts_activity),
       COALESCE(
           (SELECT min(running::text::bigint)
              FROM pg_snapshot_xip(pg_current_snapshot()) AS running
             WHERE running IS DISTINCT FROM pg_current_xact_id_if_assigned()),
           pg_snapshot_xmax(pg_current_snapshot())::text::bigint),
       pg_snapshot_xmax(pg_current_snapshot())::text::bigint
"""


@dataclass(frozen=True)
class _Horizon:
    highest: int  # the highest activity id committed, as this transaction sees the log
    oldest_running: int | None  # PostgreSQL only
    next_transaction: int | None


def workspace_log_final(workspace_id: int) -> int | None:
    """PostgreSQL: an id up to which ``workspace_id``'s log is final now, or None when a
    transaction appending to it is running (or on SQLite, where _safe_bound decides).

    Every transaction that appends to a workspace's log holds a shared advisory lock on it
    (``WRITERS_LOCK``, workspace id) from before it draws an id until it ends (a trigger,
    contacts migration 0020). The database function takes that lock exclusively for an
    instant, without waiting: when it gets it, no writer of this workspace is running, so
    every id drawn so far for it has committed or rolled back, and every later one is drawn
    above the sequence's value read meanwhile. So a quiet workspace's new lead is delivered
    at once, however long other workspaces' transactions run."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT contacts_activity_final(%s)", [workspace_id])
        (final,) = cursor.fetchone()
    return final


def _horizon() -> _Horizon:
    """Read before anything else in the delivery's transaction (see _safe_bound)."""
    if connection.vendor != "postgresql":
        highest = Activity.objects.order_by("-id").values_list("id", flat=True).first()
        return _Horizon(highest or 0, None, None)
    with connection.cursor() as cursor:
        cursor.execute(_HORIZON_SQL)
        highest, oldest_running, next_transaction = cursor.fetchone()
    return _Horizon(highest or 0, oldest_running, next_transaction)


def _safe_bound(mark: ActivityWatermark, horizon: _Horizon) -> int:
    """The highest activity id that can be delivered without ever skipping one.

    SQLite writes one transaction at a time and an id is taken inside it: ids commit in
    order, everything committed is safe. On PostgreSQL an id is taken from a sequence when
    the row is inserted and becomes visible at commit, so 41 may commit after 42. The log
    is final up to the highest committed id H (read with snapshot S) once every
    transaction running at S has ended: a later transaction takes ids above H. So a
    delivery delivers up to H at once when nothing else ran at S; otherwise it notes (H,
    S's next transaction id) on the watermark and a later delivery passes H once the oldest
    running transaction is younger than that."""
    highest = horizon.highest
    if horizon.oldest_running is None:
        return highest
    last = mark.last_activity_id
    if horizon.oldest_running >= horizon.next_transaction:  # nothing else runs
        mark.horizon_activity_id = mark.horizon_transaction = None
        return max(last, highest)
    if mark.horizon_transaction is not None and horizon.oldest_running >= mark.horizon_transaction:
        safe = max(last, mark.horizon_activity_id)
        mark.horizon_activity_id, mark.horizon_transaction = highest, horizon.next_transaction
        return safe
    if mark.horizon_transaction is None:
        mark.horizon_activity_id, mark.horizon_transaction = highest, horizon.next_transaction
    return last
