"""Allowed site origins: the sites that may embed forms and send capture data."""

from urllib.parse import urlsplit


def origin_clean(origin: object) -> str:
    """The canonical origin ("https://www.example.com"), or ValueError."""
    text = str(origin or "").strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        raise ValueError(text)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origins_clean(origins: object) -> list[str]:
    """A de-duplicated list of canonical origins, or ValueError naming the first bad one."""
    if not isinstance(origins, list):
        raise ValueError("a list of origins")
    return list(dict.fromkeys(origin_clean(origin) for origin in origins))


def origin_allowed(allowed: list[str], origin: str) -> bool:
    """An empty list accepts any site; a request without Origin is not from a browser page
    of another site (or it is the site itself) and is let through."""
    return not origin or not allowed or origin.lower() in allowed
