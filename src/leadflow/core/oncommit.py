"""Gathering what a transaction did, to hand it on once after its commit.

The activity announcement (``contacts.activity_log``) and tracking's event listeners
(``tracking.listeners``) both note, statement after statement, which contacts a transaction
touched, and tell their subscribers once, after the commit, never after a rollback.
``gathering`` gives each caller the transaction's dict to add to; the first call in a
transaction arms one on-commit callback that hands the dict to ``deliver``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, transaction


@dataclass
class _Pending:
    gathered: dict = field(default_factory=dict)
    flush: Callable[[], None] | None = None


def gathering(key: str, deliver: Callable[[dict], None], *, using: str = DEFAULT_DB_ALIAS):
    """The dict the current transaction gathers under ``key`` (one per connection and
    key), handed to ``deliver`` once after the commit; None outside a transaction (the
    caller delivers at once).

    A rolled-back transaction drops its on-commit callbacks: its gathering then belongs to
    no live transaction, and the next transaction starts afresh."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return None
    pending: _Pending | None = getattr(connection, key, None)
    armed = pending is not None and any(
        callback is pending.flush for _sids, callback, _robust in connection.run_on_commit
    )
    if pending is None or not armed:
        pending = _Pending()

        def flush(pending: _Pending = pending) -> None:
            setattr(connection, key, None)
            deliver(pending.gathered)

        pending.flush = flush
        setattr(connection, key, pending)
        transaction.on_commit(flush, using=using)
    return pending.gathered
