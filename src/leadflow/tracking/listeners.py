"""Who hears that tracking stored events of known contacts.

Page views and other tracked events are not activities (decision 0018), so the activity
announcement does not carry them. An app that reacts to what known contacts do on the
site (scoring) adds a function ``listener(workspace_id, contact_ids)`` to
``EVENTS_LISTENERS`` from its ``AppConfig.ready``; ``events_announce`` calls each one
after the commit of the transaction that stored the events (never for one that rolled
back), once per transaction and workspace. A listener only schedules work (a task by its
dotted path): what it missed in a crash is caught by the app's own periodic recompute.
"""

from collections.abc import Callable, Iterable

from django.db import DEFAULT_DB_ALIAS

from leadflow.core.oncommit import gathering

EVENTS_LISTENERS: list[Callable[[int, set[int]], None]] = []

_PENDING_ATTR = "_leadflow_events_pending"


def events_announce(
    *, workspace_id: int, contact_ids: Iterable[int | None], using: str = DEFAULT_DB_ALIAS
) -> None:
    """Note that events of these contacts (None: anonymous, ignored) were stored in the
    current transaction; after its commit each listener hears every workspace once.
    Outside a transaction the listeners hear it at once."""
    ids = {pk for pk in contact_ids if pk is not None}
    if not ids or not EVENTS_LISTENERS:
        return
    gathered = gathering(_PENDING_ATTR, _deliver, using=using)
    if gathered is None:
        _deliver({workspace_id: ids})
        return
    gathered.setdefault(workspace_id, set()).update(ids)


def _deliver(workspaces: dict[int, set[int]]) -> None:
    for workspace_id, ids in workspaces.items():
        for listener in list(EVENTS_LISTENERS):
            listener(workspace_id, set(ids))
