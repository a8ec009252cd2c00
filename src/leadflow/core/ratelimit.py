"""Fixed-window rate limits on the configured cache (Redis when REDIS_URL is set)."""

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP: REMOTE_ADDR, or behind a trusted proxy (LEADFLOW_BEHIND_PROXY) the
    first address of X-Forwarded-For (see docs/deployment.md)."""
    if settings.SECURE_PROXY_SSL_HEADER and request.META.get("HTTP_X_FORWARDED_FOR"):
        return request.META["HTTP_X_FORWARDED_FOR"].split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def _window(window_seconds: int) -> tuple[int, int]:
    """(this window's number, seconds until it ends)."""
    now = int(time.time())
    window = now // window_seconds
    return window, (window + 1) * window_seconds - now or 1


def rate_limit_add(bucket: str, *, window_seconds: int) -> int:
    """Count one hit in this window; returns the window's count so far."""
    window, _ = _window(window_seconds)
    key = f"rl:{bucket}:{window}"
    if cache.add(key, 1, timeout=window_seconds + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window_seconds + 1)
        return 1


def rate_limit_clear(bucket: str, *, window_seconds: int) -> None:
    window, _ = _window(window_seconds)
    cache.delete(f"rl:{bucket}:{window}")


def rate_limit_hit(bucket: str, *, limit: int, window_seconds: int) -> int:
    """Count one hit; returns 0 when allowed, else the seconds until the window resets."""
    if limit <= 0:
        return 0
    count = rate_limit_add(bucket, window_seconds=window_seconds)
    if count > limit:
        return _window(window_seconds)[1]
    return 0
