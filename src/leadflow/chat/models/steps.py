"""What a product or meeting step made: the order a conversation placed (and its checkout
page), and the meeting a visitor booked (docs/chat/flows.md).

``ChatOrder`` finds the conversation of a paid order (the ``order.paid`` subscriber) and
keeps the checkout page's address once it was said, so a retried task says it once.
``ChatMeeting`` holds a member's booked times: one row per member and start (the unique
constraint is what makes two visitors taking one time at once book it once).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.chat.models.flows import Conversation
from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace
from leadflow.deals.models import Order


class ChatOrder(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=64)
    checkout_url = models.URLField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Order {self.order_id} of conversation {self.conversation_id}"


class ChatMeeting(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    followup_id = models.BigIntegerField(null=True, blank=True)
    step = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # When the confirmation email went (claimed in the send's transaction: it goes once).
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "member", "starts_at"], name="chatmeeting_unique_start"
            )
        ]
        indexes = [
            models.Index(fields=["member", "starts_at"], name="chatmeeting_member_start"),
        ]

    def __str__(self) -> str:
        return f"Meeting at {self.starts_at:%Y-%m-%d %H:%M}"
