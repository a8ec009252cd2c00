"""Fixed-window rate limits on the configured cache (Redis when REDIS_URL is set)."""

import time

from django.core.cache import cache


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
