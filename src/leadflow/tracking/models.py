"""Anonymous visitors, their sessions and events, and the channel rules for attribution.

A visitor is a browser known by a first-party id made by the tracker script (lf.js). When
it identifies (a form, ``leadflow.identify``) it is linked to a contact and its earlier
events join the contact's history. The event table is built for volume: set-based writes,
a few narrow indexes, monthly partitions on PostgreSQL (migration 0002) and a retention
period per workspace.
"""

from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.models import Workspace


class Channel(models.TextChoices):
    PAID_SEARCH = "paid_search", "Paid search"
    ORGANIC_SEARCH = "organic_search", "Organic search"
    PAID_SOCIAL = "paid_social", "Paid social"
    ORGANIC_SOCIAL = "organic_social", "Organic social"
    EMAIL = "email", "Email"
    REFERRAL = "referral", "Referral"
    DIRECT = "direct", "Direct"
    DISPLAY = "display", "Display"
    AFFILIATE = "affiliate", "Affiliate"
    OTHER = "other", "Other"


class Visitor(models.Model):
    """A browser, known by the id lf.js keeps in a first-party cookie and localStorage."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    visitor_key = models.CharField(max_length=64)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors"
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    identified_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "visitor_key"], name="visitor_unique_key")
        ]
        indexes = [
            models.Index(fields=["workspace", "-last_seen_at"], name="visitor_ws_seen"),
            models.Index(fields=["contact"], name="visitor_contact"),
        ]


class VisitSession(models.Model):
    """A visit: events of one visitor with no gap over 30 minutes (the session id rolls in
    the browser). Where the visit came from is read once, from its first event."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=64)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="visit_sessions"
    )
    started_at = models.DateTimeField()
    last_event_at = models.DateTimeField()
    landing_page = models.CharField(max_length=2000, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    click_ids = models.JSONField(default=dict, blank=True)
    channel = models.CharField(max_length=30, choices=Channel.choices, default=Channel.DIRECT)
    source = models.CharField(max_length=200, blank=True)
    medium = models.CharField(max_length=200, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    pageviews = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "session_key"], name="session_unique_key")
        ]
        indexes = [
            models.Index(fields=["workspace", "started_at"], name="session_ws_started"),
            models.Index(fields=["visitor", "started_at"], name="session_visitor"),
            models.Index(fields=["contact", "started_at"], name="session_contact"),
        ]


class EventType(models.TextChoices):
    PAGEVIEW = "pageview", "Page view"
    CLICK = "click", "Call-to-action click"
    OUTBOUND = "outbound", "Outbound link"
    FORM_VIEW = "form_view", "Form view"
    CUSTOM = "custom", "Custom event"
    IDENTIFY = "identify", "Identified"
    # Off-site events sent by API: brand exposure and relationship engagement.
    IMPRESSION = "impression", "Ad impression"
    FOLLOW = "follow", "Social follow"
    SHARE = "share", "Social share"
    REPLY = "reply", "Reply"
    # What happened elsewhere (an email tool, a chat, a webinar platform, a phone system, a
    # past CRM), sent by the history import (API or CSV) with its contact: never accepted
    # from the browser tracker (tracking.services.PUBLIC_TYPES) nor from POST /events.
    EMAIL_SENT = "email_sent", "Email sent"
    EMAIL_OPEN = "email_open", "Email opened"
    EMAIL_CLICK = "email_click", "Email link clicked"
    EMAIL_BOUNCE = "email_bounce", "Email bounced"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
    FORM_SUBMIT = "form_submit", "Form submitted"
    MAGNET_DOWNLOAD = "magnet_download", "Lead magnet downloaded"
    CHAT_STARTED = "chat_started", "Chat started"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    PURCHASE = "purchase", "Purchase"


class Event(models.Model):
    """One thing a visitor did. Written in bulk; its client-made ``event_id`` is unique in
    the workspace (``EventId`` holds it), so a retried batch stores once whatever times it
    carries. On PostgreSQL the table is partitioned by month of ``occurred_at``; nothing
    references it by foreign key."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    event_id = models.UUIDField()
    visitor_id = models.BigIntegerField(null=True, blank=True)
    session_id = models.BigIntegerField(null=True, blank=True)
    contact_id = models.BigIntegerField(null=True, blank=True)
    event_type = models.CharField(max_length=20, choices=EventType.choices)
    name = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["contact_id", "occurred_at"], name="event_contact_time"),
            # Browsers' events only: imported history (and server-side events) have no
            # visitor, and an entry each for them would be written and never read.
            models.Index(
                fields=["visitor_id", "occurred_at"],
                name="event_visitor_time",
                condition=models.Q(visitor_id__isnull=False),
            ),
            models.Index(
                fields=["workspace", "event_type", "occurred_at"], name="event_ws_type_time"
            ),
        ]


class EventId(models.Model):
    """The client-made id of each stored event, unique in the workspace: the guarantee the
    partitioned event table cannot give (a unique index on a partitioned table must include
    the partition's time, so the same id with another time would be stored again).

    The id's row is written in the statement that stores the event and deleted with it
    (retention); ``occurred_at`` is the stored event's time. See decision 0015.
    """

    pk = models.CompositePrimaryKey("workspace_id", "event_id")
    workspace_id = models.BigIntegerField()
    event_id = models.UUIDField()
    occurred_at = models.DateTimeField()


class ChannelRule(models.Model):
    """A workspace's own channel rule, checked before the built-in table
    (tracking/channels.py). Empty conditions match anything; all given must match."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=30, choices=Channel.choices)
    utm_source = models.CharField(
        max_length=200, blank=True, help_text="Regular expression, matched case-insensitively."
    )
    utm_medium = models.CharField(max_length=200, blank=True)
    referrer_domain = models.CharField(max_length=200, blank=True)
    click_id = models.CharField(max_length=30, blank=True)

    class Meta:
        ordering = ["position", "id"]
