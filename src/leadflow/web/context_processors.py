"""Template context shared by every app page: the current workspace, membership and role.

``can`` maps each permission name to True/False for the current member, so templates show
only the actions the role allows (the views check again: hiding a button is not security).
``user_workspaces`` is lazy: the query runs only when a page draws the switcher.
"""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from leadflow.core import selectors as core_selectors
from leadflow.core.models import ROLE_PERMISSIONS


def workspace(request: HttpRequest) -> dict:
    membership = getattr(request, "membership", None)
    granted = ROLE_PERMISSIONS.get(membership.role, frozenset()) if membership else frozenset()
    permissions = {name for names in ROLE_PERMISSIONS.values() for name in names}
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    return {
        "section": _section(match.url_name if match else ""),
        "workspace": getattr(request, "workspace", None),
        "membership": membership,
        "can": {name: name in granted for name in permissions},
        "user_workspaces": SimpleLazyObject(
            lambda: (
                list(core_selectors.workspaces_for_user(user))
                if user is not None and user.is_authenticated
                else []
            )
        ),
    }


SECTIONS = (
    ("contact", "contacts"),
    ("import", "contacts"),
    ("company", "companies"),
    ("followup", "followups"),
    ("notification", "notifications"),
    ("duplicate", "duplicates"),
    ("deal", "deals"),
    ("visitor", "visitors"),
    ("report", "reports"),
    ("settings", "settings"),
    ("audit", "audit"),
)


def _section(url_name: str | None) -> str:
    """Which main navigation item the page belongs to (marked aria-current)."""
    for prefix, section in SECTIONS:
        if (url_name or "").startswith(prefix):
            return section
    return ""
