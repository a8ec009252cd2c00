"""The activity log's announcement: "these contacts got these activities, up to id N".

Every path that appends activities (the ORM services, the import's set-based writer, the
capture fast path, tracking's identify and merge) calls :func:`activities_announce` inside
its transaction. Calls within one transaction are gathered; after the commit, one
:class:`Announcement` per workspace goes to every subscriber. A rolled-back transaction
announces nothing.

Subscribers register in their app's ``AppConfig.ready`` (like merge hooks, no Django
signals). Scoring, routing, sequences, webhooks and analytics will be subscribers.

(Skeleton of issue 11 §2: delivery through the worker, watermarks and catch-up are being
built on this signature.)
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, transaction


@dataclass(frozen=True)
class Announcement:
    """What one committed transaction appended to one workspace's activity log."""

    workspace_id: int
    contact_ids: frozenset[int]
    up_to_id: int  # the highest activity id the transaction wrote


Subscriber = Callable[[Announcement], None]
ANNOUNCEMENT_SUBSCRIBERS: list[Subscriber] = []

_PENDING_ATTR = "leadflow_pending_announcements"


def activities_announce(
    *, workspace_id: int, contact_ids: Iterable[int], up_to_id: int, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Note that the current transaction appended activities for ``contact_ids`` in
    ``workspace_id``, the highest with id ``up_to_id``. Outside a transaction the
    announcement goes out at once."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        _deliver({workspace_id: (set(contact_ids), up_to_id)})
        return
    pending = getattr(connection, _PENDING_ATTR, None)
    # A rolled-back transaction drops its on-commit callbacks: then the pending gathering
    # belongs to no live transaction and starts afresh.
    armed = pending is not None and any(
        callback is pending["flush"] for _sids, callback, _robust in connection.run_on_commit
    )
    if not armed:
        pending = {"workspaces": {}}

        def flush(pending=pending) -> None:
            setattr(connection, _PENDING_ATTR, None)
            _deliver(pending["workspaces"])

        pending["flush"] = flush
        setattr(connection, _PENDING_ATTR, pending)
        transaction.on_commit(flush, using=using)
    contacts, highest = pending["workspaces"].get(workspace_id, (set(), 0))
    contacts.update(contact_ids)
    pending["workspaces"][workspace_id] = (contacts, max(highest, up_to_id))


def _deliver(workspaces: dict[int, tuple[set[int], int]]) -> None:
    for workspace_id, (contacts, highest) in workspaces.items():
        announcement = Announcement(workspace_id, frozenset(contacts), highest)
        for subscriber in list(ANNOUNCEMENT_SUBSCRIBERS):
            subscriber(announcement)
