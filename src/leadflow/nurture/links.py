"""Signed links in marketing email: unsubscribe (RFC 8058 one-click and the preference
centre), and later open and click tracking. A link carries everything the public endpoint
needs, signed with the site's secret under its own salt, so an altered link is refused and
no cookie or session is needed.

``unsubscribe_url`` is what a sender puts in ``List-Unsubscribe`` and in the footer;
``unsubscribe_read`` is what the public endpoint checks (None: altered or not ours).
"""

from dataclasses import dataclass

from django.core import signing

from leadflow.core.notifications import link_base

UNSUBSCRIBE_SALT = "leadflow.nurture.unsubscribe"
UNSUBSCRIBE_PATH = "/u/"  # nurture.public_urls: /u/<token>/ (GET page, POST one-click)


@dataclass(frozen=True)
class UnsubscribeLink:
    workspace_id: int
    contact_id: int | None  # None: an address without a contact (a test send)
    address: str  # lower-cased
    message_key: str = ""  # which message it came in ("" when none)


def unsubscribe_token(link: UnsubscribeLink) -> str:
    payload = {"w": link.workspace_id, "c": link.contact_id, "a": link.address.strip().lower()}
    if link.message_key:
        payload["m"] = link.message_key
    return signing.dumps(payload, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(link: UnsubscribeLink, base_url: str = "") -> str:
    """The absolute HTTPS (in production) URL of the link's unsubscribe page."""
    return f"{link_base(base_url)}{UNSUBSCRIBE_PATH}{unsubscribe_token(link)}/"


def unsubscribe_read(token: str) -> UnsubscribeLink | None:
    """The link a token stands for, or None when it was altered or is not one of ours.
    Unsubscribe links do not expire (RFC 8058 asks that they keep working)."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("w"), int):
        return None
    address = payload.get("a")
    contact = payload.get("c")
    if not isinstance(address, str) or not (contact is None or isinstance(contact, int)):
        return None
    message = payload.get("m", "")
    return UnsubscribeLink(
        workspace_id=payload["w"],
        contact_id=contact,
        address=address,
        message_key=message if isinstance(message, str) else "",
    )
