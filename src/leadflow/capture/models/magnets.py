"""Lead magnets: what a lead gets for their details, and each lead's grant of one.

A ``Magnet`` is a file, an external URL, a unique code or a seat at an event. A lead who
earns it gets one ``MagnetGrant`` (unique per magnet and contact: a retried or repeated
submission finds the same grant, so the same code and the same seat). The grant is reached
through a signed link that names it and its link number (``link_serial``): a fresh link
bumps the number, so the old ones stop working and the download count starts again.
"""

import secrets

from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


def new_magnet_key() -> str:
    """The public key of a magnet in its download links (it grants nothing alone)."""
    return "m_" + secrets.token_urlsafe(9)


def magnet_storage():
    """The storage of uploaded magnet files: ``STORAGES["magnets"]`` (under the data dir by
    default, S3-compatible when configured; docs/capture/magnets.md)."""
    return storages["magnets"]


def magnet_upload_to(magnet: "Magnet", filename: str) -> str:
    # A random folder: a guessed name never finds another workspace's file.
    return f"{magnet.workspace_id}/{secrets.token_hex(8)}/{filename}"


class MagnetKind(models.TextChoices):
    FILE = "file", "File (PDF, ZIP, video)"
    URL = "url", "External link"
    CODE = "code", "Unique code"
    SEAT = "seat", "Event seat"


class Magnet(models.Model):
    """Something free a lead gets in exchange for their details.

    ``link_days`` is how long a delivered link works; ``max_downloads`` (null: no limit) how
    often one link may be used. Codes come from the pool (``MagnetCode`` rows) or, when
    ``code_pattern`` is set, are made from it (``#`` a digit, ``X`` a letter or digit);
    ``single_use`` codes can be redeemed once. Seats stop at ``capacity``: ``seats_taken``
    only grows by a conditional UPDATE, so concurrent leads never exceed it; later leads
    join the waiting list.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=40, unique=True, default=new_magnet_key)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=MagnetKind.choices)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    file = models.FileField(
        storage=magnet_storage, upload_to=magnet_upload_to, max_length=500, blank=True
    )
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    code_pattern = models.CharField(max_length=60, blank=True)
    single_use = models.BooleanField(default=False)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    seats_taken = models.PositiveIntegerField(default=0)
    event_at = models.DateTimeField(null=True, blank=True)
    link_days = models.PositiveSmallIntegerField(default=7)
    max_downloads = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="magnet_ws_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(seats_taken__lte=models.F("capacity")),
                name="magnet_seats_within_capacity",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SeatStatus(models.TextChoices):
    NONE = "", "—"
    SEATED = "seated", "Seat"
    WAITING = "waiting", "Waiting list"
    RELEASED = "released", "Seat released"  # by a member: the seat went to the waiting list


class MagnetGrant(models.Model):
    """One lead's copy of a magnet: their code, their seat, their link and its use.

    Unique per magnet and contact. ``delivered_at`` is set in the transaction that sends the
    delivery email, so it goes exactly once; ``downloads`` counts every use of any link,
    ``link_downloads`` the current link's (checked against ``Magnet.max_downloads``).
    ``seated_at`` is when a lead on the waiting list got a seat; ``seat_delivered_at`` is set
    in the transaction of the email that tells the lead they hold a seat (the delivery
    email, or the one sent when a seat freed up for them), so that goes once too.
    """

    # A merge moves grants by capture's hook (``magnets.grants_merge``): one per magnet.
    contact_merge_moves = False

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    magnet = models.ForeignKey(Magnet, on_delete=models.CASCADE, related_name="grants")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    submission = models.ForeignKey(
        "capture.Submission", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    code = models.CharField(max_length=100, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redemptions = models.PositiveIntegerField(default=0)
    seat = models.CharField(max_length=10, choices=SeatStatus.choices, blank=True)
    link_serial = models.PositiveIntegerField(default=1)
    link_downloads = models.PositiveIntegerField(default=0)
    downloads = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    seated_at = models.DateTimeField(null=True, blank=True)
    seat_delivered_at = models.DateTimeField(null=True, blank=True)
    link_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["magnet", "contact"], name="magnet_grant_once"),
            models.UniqueConstraint(
                fields=["magnet", "code"], condition=~Q(code=""), name="magnet_code_once"
            ),
        ]
        indexes = [
            models.Index(fields=["magnet", "seat", "created_at"], name="magnet_grant_seat"),
            models.Index(fields=["submission"], name="magnet_grant_submission"),
        ]

    def __str__(self) -> str:
        return f"{self.magnet.name} for contact {self.contact_id}"


class MagnetCode(models.Model):
    """One code of a magnet's pool, uploaded by a marketer; ``grant`` is the lead it went to.
    ``given_at`` marks it used for good: a code stays given when its lead is deleted."""

    magnet = models.ForeignKey(Magnet, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=100)
    grant = models.OneToOneField(
        MagnetGrant, null=True, blank=True, on_delete=models.SET_NULL, related_name="pool_code"
    )
    given_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["magnet", "code"], name="magnet_pool_code_once")
        ]
        indexes = [models.Index(fields=["magnet", "given_at"], name="magnet_code_free")]
