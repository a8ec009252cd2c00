"""Personal offers: a discount or a code for one person, chosen from their interests and
placed into emails and sequences (docs/nurture/offers.md)."""

from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class OfferKind(models.TextChoices):
    POOL = "pool", "Codes from a list I upload"
    GENERATED = "generated", "A unique code made for each person"


class Offer(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)  # what the email may say about it
    kind = models.CharField(max_length=20, choices=OfferKind.choices, default=OfferKind.GENERATED)
    # A generated code: the prefix before its random part (WELCOME- gives WELCOME-7KQ2M9XD).
    prefix = models.CharField(max_length=40, blank=True)
    # Interests it is for (tags, words in pages visited or form answers); none: anyone.
    interests = models.JSONField(default=list, blank=True)
    priority = models.PositiveSmallIntegerField(default=0)  # higher first among equal matches
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    valid_days = models.PositiveSmallIntegerField(null=True, blank=True)  # after it is issued
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "active"], name="offer_ws_active")]

    def __str__(self) -> str:
        return self.name


class OfferCode(models.Model):
    """A code: waiting in a pool (no contact yet), or issued to one person, then perhaps
    redeemed once. A person gets at most one code of an offer."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=80)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(max_length=200, blank=True)  # the order it was redeemed on

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "code"], name="offercode_unique"),
            models.UniqueConstraint(
                fields=["offer", "contact"],
                condition=models.Q(contact__isnull=False),
                name="offercode_one_per_contact",
            ),
        ]
        indexes = [
            models.Index(
                fields=["offer", "id"],
                condition=models.Q(contact__isnull=True, issued_at__isnull=True),
                name="offercode_waiting",
            ),
            models.Index(fields=["contact"], name="offercode_contact"),
        ]
