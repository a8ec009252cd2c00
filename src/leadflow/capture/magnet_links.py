"""A lead's signed link to a magnet: making it, opening it (each use counted, with its
``magnet.downloaded`` activity), and a fresh one in place of an expired or altered one.

Guarantees:

- a link (``magnet_link``) is signed, names the grant and its link number, and expires
  after the magnet's ``link_days``; each use counts (``link_downloads`` against
  ``max_downloads``, conditionally) and writes one ``magnet.downloaded`` activity in the
  same transaction;
- a fresh link (``magnet_link_renew``) replaces the old one (the link number grows), at
  most once per ``RENEW_SECONDS`` per grant, and goes only to the lead's own address.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core import signing
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from leadflow.capture.magnet_kinds import MAGNET_DOWNLOADED
from leadflow.capture.models import Magnet, MagnetGrant
from leadflow.contacts.models import Contact
from leadflow.contacts.services.activities import activity_record
from leadflow.core.actors import Actor
from leadflow.core.errors import DomainError
from leadflow.core.tasks import task_schedule

MAGNET_SALT = "leadflow.capture.magnet-link"
RENEW_SECONDS = 600
RENEW_TASK = "leadflow.capture.tasks.magnet_link_send"


class LinkInvalid(DomainError):
    status = 404
    code = "link_invalid"
    title = "This link is not valid"


class LinkExpired(DomainError):
    """The link was right but is no longer usable (expired, replaced, used up); the grant is
    known, so a fresh link can go to the lead's address without asking for it."""

    status = 410
    code = "link_expired"
    title = "This link has expired"

    def __init__(self, detail: str, *, grant: MagnetGrant, code: str | None = None):
        super().__init__(detail, code=code)
        self.grant = grant


def magnet_token(grant: MagnetGrant) -> str:
    return signing.dumps([grant.pk, grant.link_serial], salt=MAGNET_SALT, compress=False)


def magnet_link(grant: MagnetGrant, base_url: str) -> str:
    """The lead's signed link to their copy of the magnet (``base_url``: the site)."""
    path = reverse(
        "capture_magnet_open", kwargs={"key": grant.magnet.key, "token": magnet_token(grant)}
    )
    return base_url.rstrip("/") + path


@dataclass
class Delivered:
    """What the thank-you screen and the delivery email show of a grant."""

    name: str
    kind: str
    link: str
    code: str = ""
    seat: str = ""
    pending: bool = False  # waiting for the double opt-in confirmation

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "url": self.link or None,
            "code": self.code or None,
            "seat": self.seat or None,
            "pending_confirmation": self.pending,
        }


def delivered(grant: MagnetGrant, base_url: str) -> Delivered:
    return Delivered(
        name=grant.magnet.name,
        kind=grant.magnet.kind,
        link=magnet_link(grant, base_url),
        code=grant.code,
        seat=grant.seat,
    )


def magnet_open(*, key: str, token: str) -> MagnetGrant:
    """Use a link: the grant (with magnet and contact) after counting the download and
    writing its ``magnet.downloaded`` activity. LinkInvalid (404) for an altered link or
    another magnet's; LinkExpired (410) for an old, replaced or used-up one."""
    magnet = Magnet.objects.select_related("workspace").filter(key=key[:40]).first()
    if magnet is None:
        raise LinkInvalid("This link is not valid.")
    try:
        grant_pk, serial = signing.loads(
            token, salt=MAGNET_SALT, max_age=timedelta(days=magnet.link_days)
        )
        expired = False
    except signing.SignatureExpired:
        grant_pk, serial = signing.loads(token, salt=MAGNET_SALT)
        expired = True
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkInvalid("This link is not valid.") from None
    grant = MagnetGrant.objects.select_related("contact").filter(pk=grant_pk, magnet=magnet).first()
    if grant is None:
        raise LinkInvalid("This link is not valid.")
    grant.magnet = magnet
    if expired or grant.link_serial != serial:
        raise LinkExpired("This link has expired.", grant=grant)
    if not magnet.active:
        raise LinkExpired("This offer has ended.", grant=grant, code="magnet_inactive")
    with transaction.atomic():
        rows = MagnetGrant.objects.filter(pk=grant.pk, link_serial=serial)
        if magnet.max_downloads is not None:
            rows = rows.filter(link_downloads__lt=magnet.max_downloads)
        if not rows.update(link_downloads=F("link_downloads") + 1, downloads=F("downloads") + 1):
            raise LinkExpired("This link has been used up.", grant=grant, code="download_limit")
        activity_record(
            workspace=magnet.workspace,
            contact=grant.contact,
            kind=MAGNET_DOWNLOADED,
            actor=Actor.system(f"magnet: {magnet.name}"[:200]),
            data=magnet_downloaded_data(magnet_id=magnet.pk, name=magnet.name),
        )
    grant.downloads += 1
    grant.link_downloads += 1
    return grant


def magnet_downloaded_data(*, magnet_id: int, name: str) -> dict[str, Any]:
    """The typed payload of ``magnet.downloaded``."""
    return {"magnet_id": magnet_id, "name": name}


def magnet_link_renew(
    *, key: str, base_url: str, token: str = "", email: str = ""
) -> MagnetGrant | None:
    """Send a fresh link to the lead's own address: the grant named by an expired link
    (``token``, its signature still checked), else the grant of the lead with ``email``.
    The old link stops working. At most once per RENEW_SECONDS per grant; answers the
    same whatever happened (None or the grant), so it tells nobody an address."""
    magnet = Magnet.objects.filter(key=key[:40], active=True).first()
    if magnet is None:
        return None
    grants = MagnetGrant.objects.filter(magnet=magnet)
    grant = None
    if token:
        try:
            grant_pk, _ = signing.loads(token, salt=MAGNET_SALT)
        except (signing.BadSignature, ValueError, TypeError):
            grant_pk = None
        grant = grants.filter(pk=grant_pk).first() if grant_pk else None
    elif email and "@" in email:
        contact_ids = Contact.objects.filter(
            workspace_id=magnet.workspace_id, email__iexact=email.strip()[:254]
        ).values("pk")
        grant = grants.filter(contact_id__in=contact_ids).first()
    if grant is None:
        return None
    now = timezone.now()
    renewed = (
        MagnetGrant.objects.filter(pk=grant.pk)
        .filter(
            Q(link_sent_at__isnull=True)
            | Q(link_sent_at__lt=now - timedelta(seconds=RENEW_SECONDS))
        )
        .update(link_serial=F("link_serial") + 1, link_downloads=0, link_sent_at=now)
    )
    if not renewed:
        return None
    task_schedule(RENEW_TASK, grant.pk, base_url)
    return grant
