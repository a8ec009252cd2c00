"""The suppression list's door: whether an email address must never be emailed.

There is no suppression list yet: the nurture app (marketing email, unsubscribe, bounces)
will keep it and register its check here in its ``AppConfig.ready``, as tracking registers
its merge hook. Until then ``email_suppressed`` answers None for every address, and every
sender of email (the sales app's personal emails first) already asks it, so the list takes
effect everywhere the day it exists, without the senders learning about nurture.

A check takes the workspace id and the address (lower-cased) and returns the reason the
address is suppressed ("unsubscribed", "hard bounce"...), or None.
"""

from collections.abc import Callable

SuppressionCheck = Callable[[int, str], str | None]

SUPPRESSION_CHECKS: list[SuppressionCheck] = []


def suppression_check_register(check: SuppressionCheck) -> None:
    """Add a check (safe to call twice with the same function)."""
    if check not in SUPPRESSION_CHECKS:
        SUPPRESSION_CHECKS.append(check)


def email_suppressed(workspace_id: int, address: str) -> str | None:
    """Why ``address`` must not be emailed in this workspace (the first check that says
    so), or None when nothing suppresses it (always None until a list registers)."""
    address = (address or "").strip().lower()
    for check in SUPPRESSION_CHECKS:
        reason = check(workspace_id, address)
        if reason:
            return reason
    return None
