"""The suppression list's door: whether an email address must never be emailed.

The nurture app keeps the list (marketing email, unsubscribe, bounces) and registers its
checks here in its ``AppConfig.ready``, as tracking registers its merge hook; every sender
of email (the sales app's personal emails, nurture's own) asks ``email_suppressed`` and
imports ask ``emails_suppressed`` for a chunk at once, without learning about nurture.
Until a list registers, both answer "nothing is suppressed".

A check takes the workspace id and the address (lower-cased) and returns the reason the
address is suppressed ("unsubscribed", "hard bounce"...), or None. A bulk check takes the
workspace id and a list of addresses (lower-cased) and returns {address: reason} for
those suppressed; a list registers both.
"""

from collections.abc import Callable, Iterable

SuppressionCheck = Callable[[int, str], str | None]
SuppressionBulkCheck = Callable[[int, list[str]], dict[str, str]]

SUPPRESSION_CHECKS: list[SuppressionCheck] = []
SUPPRESSION_BULK_CHECKS: list[SuppressionBulkCheck] = []
# Each check's bulk form, when it has one; a check without asks address by address.
_BULK_OF: dict[SuppressionCheck, SuppressionBulkCheck] = {}


def suppression_check_register(
    check: SuppressionCheck, bulk: SuppressionBulkCheck | None = None
) -> None:
    """Add a check, and its bulk form when given (safe to call twice with the same)."""
    if check not in SUPPRESSION_CHECKS:
        SUPPRESSION_CHECKS.append(check)
    if bulk is not None and bulk not in SUPPRESSION_BULK_CHECKS:
        SUPPRESSION_BULK_CHECKS.append(bulk)
    if bulk is not None:
        _BULK_OF[check] = bulk


def email_suppressed(workspace_id: int, address: str) -> str | None:
    """Why ``address`` must not be emailed in this workspace (the first check that says
    so), or None when nothing suppresses it (always None until a list registers)."""
    address = (address or "").strip().lower()
    for check in SUPPRESSION_CHECKS:
        reason = check(workspace_id, address)
        if reason:
            return reason
    return None


def emails_suppressed(workspace_id: int, addresses: Iterable[str]) -> dict[str, str]:
    """{address (lower-cased): reason} for the addresses a check names (the first that
    does, in the order ``email_suppressed`` asks); the others are left out. One call per
    registered list with a bulk form, whatever the number of addresses."""
    wanted = sorted({(address or "").strip().lower() for address in addresses} - {""})
    found: dict[str, str] = {}
    for check in SUPPRESSION_CHECKS:
        if not wanted:
            break
        bulk = _BULK_OF.get(check)
        if bulk is not None:
            named = bulk(workspace_id, wanted)
        else:
            named = {a: r for a in wanted if (r := check(workspace_id, a))}
        for address, reason in named.items():
            found.setdefault(address, reason)
        wanted = [address for address in wanted if address not in found]
    return found
