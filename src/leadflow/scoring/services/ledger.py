"""The ledger (``ScorePoint``): building it from the rules and the source rows.

``engagement_rebuild`` deletes the rows of some contacts (or of the whole workspace) and
writes them again with one ``INSERT ... SELECT`` per enabled rule, the caps applied by
window functions; an incremental rebuild and a full one run the same statements, so they
give the same rows. A whole-workspace rebuild may keep the rows of rules unchanged since it
last ran (``changed_only``); writers of one workspace's ledger take ``ledger_lock`` so two
never count a point twice. Reading the ledger (decayed sums, breakdowns) is in
``engagement``.
"""

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import DatabaseError, connection, transaction

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace
from leadflow.scoring.engagement_sql import RuleSpec, rule_rows
from leadflow.scoring.models import EngagementRule, RuleSource, ScorePoint, ScoringProfile

IDS_PER_STATEMENT = 2000
# The advisory lock (class key; the workspace id is the second) of the ledger's writers.
SCORING_LOCK = 1279677267


def _chunks(ids: Sequence[int] | None) -> list[Sequence[int] | None]:
    if ids is None:
        return [None]
    return [
        ids[start : start + IDS_PER_STATEMENT] for start in range(0, len(ids), IDS_PER_STATEMENT)
    ]


def _rule_insert(
    rule: EngagementRule | Any, workspace_id: int, contact_ids: Sequence[int] | None
) -> None:
    """One INSERT ... SELECT: the rule's rows, the daily cap (per contact and UTC day, in
    time order), then the total cap over what passed the daily one."""
    spec = RuleSpec(source=rule.source, kind=rule.kind, conditions=rule.conditions or [])
    rows = rule_rows(
        spec,
        workspace_id,
        contact_ids,
        day=bool(rule.cap_per_day),
        existing=contact_ids is not None,
    )
    sql, params = rows.query.sql_with_params()
    params = list(params)
    # Only compiled SQL and literal text are formatted in; every value is a parameter.
    inner = f"SELECT contact_id, id, occurred_at FROM ({sql}) src"  # noqa: S608
    if rule.cap_per_day:
        inner = _capped(sql, "contact_id, day")
        params.append(rule.cap_per_day)
    if rule.cap_total:
        inner = _capped(inner, "contact_id")
        params.append(rule.cap_total)
    table = connection.ops.quote_name(ScorePoint._meta.db_table)
    statement = (
        f"INSERT INTO {table} (workspace_id, contact_id, rule_id, source, source_id, "  # noqa: S608
        f"occurred_at, points) SELECT %s, contact_id, %s, %s, id, occurred_at, %s "
        f"FROM ({inner}) given"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [workspace_id, rule.pk, rule.source, rule.points, *params])


def _capped(rows: str, partition: str) -> str:
    """The first ``%s`` of ``rows`` per ``partition``, in time order (then id)."""
    return (
        "SELECT contact_id, id, occurred_at FROM (SELECT contact_id, id, occurred_at, "  # noqa: S608
        f"ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY occurred_at, id) AS n "
        f"FROM ({rows}) ranked) capped WHERE n <= %s"
    )


def engagement_rebuild(
    *,
    workspace_id: int,
    contact_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    changed_only: bool = False,
    apart: tuple[dict | None] | None = None,
) -> int:
    """Rebuild the ledger (``ScorePoint``) of these contacts (all the workspace's when
    None) from the source rows, set-based, one statement per rule. The full rebuild also
    drops the rows of contacts that no longer exist. ``now`` is not needed: the ledger
    holds points as given; decay is applied when a score is read or written.

    ``changed_only`` (whole workspace only): rebuild just the rules whose definition
    changed since the ledger was last built for the whole workspace (each rule's rows
    depend on that rule alone, and deliveries keep every rule's rows current between
    rebuilds), drop the rows of rules deleted or disabled, and leave the others' rows as
    they are. Returns how many rules were rebuilt.

    ``apart`` (whole workspace, inside ``ledger_rebuild_apart``): the fingerprints it gave,
    in a 1-tuple; the rebuilt rules' INSERTs are shared with a second connection."""
    ids = None if contact_ids is None else sorted(set(contact_ids))
    if ids is not None and not ids:
        return 0
    with transaction.atomic():
        ledger_lock(workspace_id, ids)
        _defaults_ensure(workspace_id)
        rules = list(
            EngagementRule.objects.filter(workspace_id=workspace_id, enabled=True).order_by(
                "position", "id"
            )
        )
        if ids is None:
            return _workspace_ledger_rebuild(
                workspace_id, rules, changed_only=changed_only, apart=apart
            )
        ledger = ScorePoint.objects.filter(workspace_id=workspace_id)
        for chunk in _chunks(ids):
            ledger.filter(contact_id__in=chunk).delete()
        for rule in rules:
            for chunk in _chunks(ids):
                _rule_insert(rule, workspace_id, chunk)
        return len(rules)


def rule_fingerprint(rule: EngagementRule) -> str:
    """What a rule's ledger rows depend on, as a short digest (name and position aside)."""
    definition = [
        rule.source,
        rule.kind,
        rule.conditions or [],
        rule.points,
        rule.cap_per_day,
        rule.cap_total,
    ]
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _workspace_ledger_rebuild(
    workspace_id: int,
    rules: list[EngagementRule],
    *,
    changed_only: bool,
    apart: tuple[dict | None] | None = None,
) -> int:
    if apart is not None:
        built = apart[0]
    else:
        profile = ScoringProfile.objects.filter(workspace_id=workspace_id).first()
        built = profile.ledger_rules if profile else None
    if not changed_only:
        built = None
    wanted = {str(rule.pk): rule_fingerprint(rule) for rule in rules}
    ledger = ScorePoint.objects.filter(workspace_id=workspace_id)
    if built is None:  # from nothing
        stale = rules
        ledger.delete()
    else:
        stale = [rule for rule in rules if built.get(str(rule.pk)) != wanted[str(rule.pk)]]
        # Rules deleted, disabled or changed since, and new ones (deliveries may have
        # given some contacts their points already): their rows go, whoever wrote them.
        dropped = {int(pk) for pk, key in built.items() if wanted.get(pk) != key}
        dropped |= {rule.pk for rule in stale}
        if dropped:
            ledger.filter(rule_id__in=sorted(dropped)).delete()
    if stale and connection.vendor == "postgresql":
        _bulk_settings()
    if apart is not None and len(stale) > 1:
        _rules_insert_apart(workspace_id, stale)
    else:
        for rule in stale:
            _rule_insert(rule, workspace_id, None)
    _points_of_gone_contacts_delete(workspace_id)
    ScoringProfile.objects.filter(workspace_id=workspace_id).update(ledger_rules=wanted)
    return len(stale)


@contextlib.contextmanager
def ledger_rebuild_apart(workspace_id: int) -> Iterator[dict | None]:
    """For a whole-workspace rebuild that shares its rules with a second connection
    (``_rules_insert_apart``; PostgreSQL, outside any transaction): holds the workspace's
    ledger lock for the session (so the rebuild's own transaction, and no other writer,
    comes next), records the ledger as unknown at once (committed: if anything fails before
    the rebuild records its rules again, the next rebuild starts from nothing) and gives
    the rules' fingerprints it had. Lets go of the lock at the end."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [SCORING_LOCK, workspace_id])
    try:
        profile = ScoringProfile.objects.filter(workspace_id=workspace_id).first()
        built = profile.ledger_rules if profile else None
        ScoringProfile.objects.filter(workspace_id=workspace_id).update(ledger_rules=None)
        yield built
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SCORING_LOCK, workspace_id])
        except DatabaseError:
            # A lost connection has let go already; any other failure: closing the session
            # lets go (a lock kept would hold the workspace's deliveries back).
            connection.close()


def _bulk_settings() -> None:
    """The daily caps sort every row of a kind: in memory, not in temporary files; and a
    dozen long statements run once gain nothing from JIT compilation (about a quarter of a
    second each). Until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")


def _rules_insert_apart(workspace_id: int, rules: list[EngagementRule]) -> None:
    """The rules' INSERTs shared by this connection and a second one (a thread of its own),
    each taking the next rule as it finishes one, rules without conditions (the most rows)
    first: on two cores a first rescore's ledger takes about half as long.

    The rows of these rules were deleted by this transaction (which holds the workspace's
    ledger lock, so no delivery writes meanwhile). The second connection commits its rows
    before this transaction goes on, and this one may still fail afterwards: so the caller
    has first recorded the ledger as unknown (``ledger_rebuild_apart``, committed). Whatever
    fails in between, the next whole-workspace rescore rebuilds the ledger from nothing;
    success records the rules' fingerprints again (``_workspace_ledger_rebuild``). Until
    this transaction commits, other readers may see a rebuilt rule's new rows beside its
    old ones (a breakdown, for seconds); scores are written by this transaction only."""
    import threading

    queue = sorted(rules, key=lambda rule: (bool(rule.conditions), rule.position, rule.pk))
    lock = threading.Lock()

    def next_rule() -> EngagementRule | None:
        with lock:
            return queue.pop(0) if queue else None

    failure: list[BaseException] = []

    first = queue.pop(0)  # the second connection's, whatever the threads' timing

    def helper() -> None:
        try:
            with transaction.atomic():
                _bulk_settings()
                rule: EngagementRule | None = first
                while rule is not None:
                    _rule_insert(rule, workspace_id, None)
                    rule = next_rule()
        except BaseException as error:  # raised again in the caller's thread
            failure.append(error)
            with lock:
                queue.clear()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=helper, name="ledger-rules")
    thread.start()
    try:
        while (rule := next_rule()) is not None:
            _rule_insert(rule, workspace_id, None)
    except BaseException:
        with lock:  # the second connection stops after its current rule
            queue.clear()
        raise
    finally:
        thread.join()
    if failure:
        raise failure[0]


def ledger_lock(workspace_id: int, contact_ids: Sequence[int] | None) -> None:
    """Writers of a workspace's ledger one at a time where they overlap, until the caller's
    transaction ends (PostgreSQL; SQLite has one writer at a time anyway).

    A rebuild deletes a contact's rows and inserts them again. Two at once could both
    insert (the second waits on rows the first deleted, finds them gone, and inserts next to
    the first's new rows): the points would count twice. So a whole-workspace rebuild holds
    the workspace's ``SCORING_LOCK`` exclusively, a rebuild of some contacts holds it shared
    and locks those contacts' rows (in id order: two deliveries never wait on each other in
    a circle), taking the workspace lock first."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if contact_ids is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SCORING_LOCK, workspace_id])
            return
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [SCORING_LOCK, workspace_id])
    for chunk in _chunks(list(contact_ids)):
        locked = Contact.objects.filter(workspace_id=workspace_id, pk__in=chunk)
        # NO KEY: the rows are not deleted and their ids do not change, so other
        # transactions' foreign-key checks (KEY SHARE: an activity inserted for one of
        # these contacts) do not wait on this one.
        rows = locked.order_by("pk").select_for_update(no_key=True)
        list(rows.values_list("pk", flat=True))


def _points_of_gone_contacts_delete(workspace_id: int) -> None:
    """After a whole-workspace rebuild: the points of events whose contact no longer exists
    (events keep a plain contact id), removed by one anti-join instead of a semi-join with
    the contacts in every event rule's statement."""
    gone = ScorePoint.objects.filter(workspace_id=workspace_id, source=RuleSource.EVENT).exclude(
        contact_id__in=Contact.objects.filter(workspace_id=workspace_id).values("pk")
    )
    gone.delete()


def _defaults_ensure(workspace_id: int) -> None:
    """A workspace scored before anyone opened its settings gets its profile and default
    rules first (``profile_get`` installs them once)."""
    installed = ScoringProfile.objects.filter(
        workspace_id=workspace_id, defaults_installed_at__isnull=False
    )
    if not installed.exists():
        from leadflow.scoring.services.profile import profile_get  # it imports this module

        workspace = Workspace.objects.filter(pk=workspace_id).first()
        if workspace is not None:
            profile_get(workspace)
