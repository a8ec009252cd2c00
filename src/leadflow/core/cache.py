"""A small per-process cache with a time limit, for what public endpoints read on every
request (a form, a workspace by its public key). Changes reach every process within
LEADFLOW_PUBLIC_CACHE_SECONDS; 0 turns the cache off."""

import time
from collections.abc import Callable

from django.conf import settings

_ENTRIES: dict[tuple[str, object], tuple[float, object]] = {}
_MAX_ENTRIES = 5000


def cached[T](namespace: str, key: object, load: Callable[[], T]) -> T:
    """``load()``'s result, kept for a few seconds; a None result is not kept."""
    ttl = settings.LEADFLOW_PUBLIC_CACHE_SECONDS
    if ttl <= 0:
        return load()
    now = time.monotonic()
    hit = _ENTRIES.get((namespace, key))
    if hit is not None and hit[0] > now:
        return hit[1]  # type: ignore[return-value]
    value = load()
    if value is not None:
        if len(_ENTRIES) >= _MAX_ENTRIES:
            _ENTRIES.clear()
        _ENTRIES[(namespace, key)] = (now + ttl, value)
    return value


def clear() -> None:
    _ENTRIES.clear()


def forget(namespace: str, key: object) -> None:
    """Drop one entry in this process (a change made here shows at once here)."""
    _ENTRIES.pop((namespace, key), None)


def forget_namespace(namespace: str) -> None:
    """Drop every entry of a namespace in this process."""
    for entry in [entry for entry in _ENTRIES if entry[0] == namespace]:
        _ENTRIES.pop(entry, None)
