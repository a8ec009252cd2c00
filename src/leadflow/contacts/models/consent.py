"""The consent ledger: what each contact agreed to (or refused, or withdrew), per purpose.

Append-only: a row is never changed or deleted while its contact exists (a merge moves
the rows to the survivor; deleting the contact deletes them with it). The contact's status
for a purpose is the status of its latest row for that purpose (highest id);
``Contact.consent_status`` is that status for the ``marketing_email`` purpose, written by
``contacts.services.consent_record`` in the transaction that appends the row
(docs/contacts/consent.md, decision 0033).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.core.models import Workspace


class ConsentState(models.TextChoices):
    """What a ledger row says about one purpose. ``confirmed`` is a grant confirmed by
    double opt-in; ``denied`` a refusal when asked (a box left unticked, "no" on a call);
    ``withdrawn`` an earlier grant taken back."""

    GRANTED = "granted", "Granted"
    CONFIRMED = "confirmed", "Confirmed (double opt-in)"
    WITHDRAWN = "withdrawn", "Withdrawn"
    DENIED = "denied", "Denied"


class ConsentSource(models.TextChoices):
    """Where a ledger row came from; ``source_ref`` says which one (the form's id, the
    import job's, the message's)."""

    FORM = "form", "Form"
    DOUBLE_OPT_IN = "double_opt_in", "Double opt-in confirmation"
    LEAD_SOURCE = "lead_source", "Lead source (webhook)"
    IMPORT = "import", "Import"
    API = "api", "API"
    PREFERENCE_CENTRE = "preference_centre", "Preference centre"
    ONE_CLICK_UNSUBSCRIBE = "one_click_unsubscribe", "One-click unsubscribe"
    SMS_KEYWORD = "sms_keyword", "Text message keyword (STOP / START)"
    MANUAL = "manual", "Changed by a member"
    MERGE = "merge", "Kept by a merge"
    MIGRATED = "migrated", "Status before the ledger"


# The purposes every workspace has; a workspace adds its own (``ConsentPurpose`` rows).
DEFAULT_PURPOSES: dict[str, str] = {
    "marketing_email": "Marketing email",
    "newsletter": "Newsletter",
    "sms": "SMS messages",
    "profiling": "Profiling and personalisation",
}
MARKETING_PURPOSE = "marketing_email"


class ConsentPurpose(models.Model):
    """A purpose of the workspace's own, beside ``DEFAULT_PURPOSES`` (say "events" or
    "partner_offers"). Its ``key`` is what ledger rows and the API name."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="consentpurpose_unique")
        ]
        ordering = ["key"]

    def __str__(self) -> str:
        return self.label


class ConsentEntry(models.Model):
    """One row of a contact's consent ledger: the status for one purpose, the exact text
    shown and its version, where it came from, when, and the address it came from (as the
    capture stores it). Append-only (see the module docstring)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="consent_entries"
    )
    purpose = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=ConsentState.choices)
    text = models.TextField(blank=True)
    version = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=30, choices=ConsentSource.choices)
    source_ref = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=500, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    actor_label = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "consent entries"
        indexes = [
            # The latest row per (contact, purpose): the derived status.
            models.Index(fields=["contact", "purpose", "-id"], name="consent_latest"),
            # The workspace's ledger export, in order.
            models.Index(fields=["workspace", "id"], name="consent_ws"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose}: {self.status} ({self.source})"
