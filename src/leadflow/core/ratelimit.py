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


def rate_limit_hit(bucket: str, *, limit: int, window_seconds: int) -> int:
    """Count one hit; returns 0 when allowed, else the seconds until the window resets."""
    if limit <= 0:
        return 0
    now = int(time.time())
    window = now // window_seconds
    key = f"rl:{bucket}:{window}"
    if cache.add(key, 1, timeout=window_seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window_seconds + 1)
            count = 1
    if count > limit:
        return (window + 1) * window_seconds - now or 1
    return 0
