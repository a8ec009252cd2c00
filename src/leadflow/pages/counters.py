"""Page views counted in this process and written in batches: one UPDATE per variant at
most every LEADFLOW_PAGE_VIEWS_FLUSH_SECONDS (or every 1,000 views), never a row per view.

A view is an increment of a dict under a lock; the request that finds the interval over
writes the totals (``F()`` additions, so processes never overwrite each other). What a
process counted since its last write is lost if it is killed (an exit writes it), a
trade-off stated in docs/pages/landing-pages.md: views are the denominator of a rate, and
a few lost ones do not move a decision.
"""

import logging
import threading
import time
from collections import Counter

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F

from leadflow.pages.models import Variant

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_PENDING: Counter[int] = Counter()
_STATE = {"last": time.monotonic(), "count": 0}
FLUSH_AT = 1000


def view_count(variant_id: int) -> None:
    """Count one view of a variant; write the batch when it is due."""
    with _LOCK:
        _PENDING[variant_id] += 1
        _STATE["count"] += 1
        due = (
            _STATE["count"] >= FLUSH_AT
            or time.monotonic() - _STATE["last"] >= settings.LEADFLOW_PAGE_VIEWS_FLUSH_SECONDS
        )
    if due:
        views_flush()


def views_flush() -> int:
    """Write the views counted so far (one UPDATE per variant); returns how many."""
    with _LOCK:
        batch = dict(_PENDING)
        _PENDING.clear()
        _STATE["count"] = 0
        _STATE["last"] = time.monotonic()
    if not batch:
        return 0
    try:
        with transaction.atomic():  # all or none, so a retry never counts twice
            for variant_id, views in sorted(batch.items()):
                Variant.objects.filter(pk=variant_id).update(views=F("views") + views)
    except DatabaseError:  # the database is away: keep the counts for the next write
        log.warning("page views not written yet; kept for the next batch")
        with _LOCK:
            _PENDING.update(batch)
        return 0
    return sum(batch.values())


def views_pending() -> dict[int, int]:
    with _LOCK:
        return dict(_PENDING)


def views_discard() -> None:
    """Forget what this process counted and has not written (tests start from nothing)."""
    with _LOCK:
        _PENDING.clear()
        _STATE["count"] = 0
        _STATE["last"] = time.monotonic()
