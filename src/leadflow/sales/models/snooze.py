"""The salesperson's queue ("My leads"): a lead set aside by one member until a time.

A snooze is one member's: it hides the lead from that member's queue until ``until`` and
from nobody else's view. A lead has at most one snooze per member (a new one replaces it);
a snooze whose time has passed hides nothing and is simply replaced or left to lie.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class LeadSnooze(models.Model):
    """``user`` set ``contact`` aside until ``until``; unique per (contact, user), so the
    queue's "not snoozed" test is one index probe per lead."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    until = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "user"], name="leadsnooze_unique_user")
        ]

    def __str__(self) -> str:
        return f"Contact {self.contact_id} snoozed by {self.user_id} until {self.until}"
