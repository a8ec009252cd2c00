"""Tenancy, people and access: workspaces, users, memberships with roles, API keys, audit.

Every row that belongs to a customer carries ``workspace``; selectors always take the
workspace first, so an id from another workspace finds nothing.
"""

import hashlib
import secrets

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in to LeadFlow; the email address is the login (stored lower-case)."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA time zone (Europe/Berlin) the person's follow-up times are read in; "
        "empty: their sales team's zone, else UTC.",
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()
    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email.split("@")[0]


def new_public_key() -> str:
    """The workspace's public key for widgets: it may only write capture data."""
    return "pk_" + secrets.token_urlsafe(18)


class Workspace(models.Model):
    """One business using LeadFlow (a tenant). Every customer row points to one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    default_country = models.CharField(
        max_length=2, default="US", help_text="ISO 3166 code used to read local phone numbers."
    )
    sales_sees_all_leads = models.BooleanField(
        default=False, help_text="When off, members with the sales role see only their own leads."
    )
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text="Sites (https://www.example.com) that may send capture data with the public "
        "key and embed forms; empty accepts any site.",
    )
    respect_privacy_signals = models.BooleanField(
        default=True,
        help_text="The tracker records nothing for browsers that send Do Not "
        "Track or Global Privacy Control.",
    )
    tracking_requires_consent = models.BooleanField(
        default=False,
        help_text="The tracker stores nothing until the site calls leadflow.consent(true).",
    )
    event_retention_days = models.PositiveIntegerField(
        default=395, help_text="Tracking events older than this are deleted."
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    SALES = "sales", "Sales"
    VIEWER = "viewer", "Viewer"


# What each role may do in the app (docs/permissions.md has the table of every action, and
# tests/web/test_permissions.py checks it row by row). "export" (contacts, submissions) is
# bulk personal data: not for viewers; a sales member who sees only own leads exports only
# those. "manage_forms" (create, change, delete forms) is marketing's, not sales'.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(
        {
            "read",
            "write",
            "delete",
            "export",
            "manage_forms",
            "manage_members",
            "manage_settings",
            "view_audit",
            "manage_owners",
        }
    ),
    Role.ADMIN: frozenset(
        {
            "read",
            "write",
            "delete",
            "export",
            "manage_forms",
            "manage_members",
            "manage_settings",
            "view_audit",
        }
    ),
    Role.MARKETER: frozenset({"read", "write", "delete", "export", "manage_forms"}),
    Role.SALES: frozenset({"read", "write", "export"}),
    Role.VIEWER: frozenset({"read"}),
}


class Membership(models.Model):
    """A user's place in a workspace, with the role that decides what they may do there."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"

    def can(self, permission: str) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())


class ApiScope(models.TextChoices):
    CONTACTS_READ = "contacts:read", "Read contacts and companies"
    CONTACTS_WRITE = "contacts:write", "Create, change and delete contacts and companies"
    SETTINGS_READ = "settings:read", "Read workspace settings and custom fields"
    SETTINGS_WRITE = "settings:write", "Change workspace settings and custom fields"
    FORMS_READ = "forms:read", "Read forms and their submissions"
    FORMS_WRITE = "forms:write", "Create, change and delete forms"
    EVENTS_WRITE = "events:write", "Send tracking events (impressions, follows, shares)"


ALL_API_SCOPES = [scope.value for scope in ApiScope]


class ApiKey(models.Model):
    """A secret for the REST API, scoped to one workspace and a set of scopes.

    Only a SHA-256 hash of the secret is stored; the secret is shown once, when created.
    The lookup uses the short public prefix, then compares hashes in constant time.
    """

    PREFIX_LENGTH = 12

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=20, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(models.Model):
    """Who changed what, when: a user or an API key. Append-only; admins read it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audit")
    actor_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    actor_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=60, blank=True)
    object_label = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="audit_ws_time")]


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an Idempotency-Key, replayed for retries.

    Written in the same transaction as the change it answers, so a retry either sees the
    committed answer or runs the change itself: never both, never neither.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    request_fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.BinaryField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_unique_key")
        ]


class PeriodicJob(models.Model):
    """When a periodic job (``core.scheduler``) was last enqueued. The row is the claim that
    makes one enqueue per period across every worker process sharing the database: a clock
    enqueues only if its conditional UPDATE of ``last_enqueued_at`` matched."""

    name = models.CharField(max_length=100, primary_key=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", "A lead was assigned to you"
    FOLLOWUP_DUE = "followup_due", "A follow-up is due"
    MENTION = "mention", "You were mentioned"
    FIRST_TOUCH_OVERDUE = "first_touch_overdue", "A lead's first touch is overdue"
    SEQUENCE = "sequence", "A sequence asks you to look at a lead"
    CHAT = "chat", "A visitor is waiting in the chat"


class Notification(models.Model):
    """One in-app notification for one member: what happened (``kind``, ``title``, ``body``),
    where to look (``link``, a path inside the app) and the contact it is about, if any.
    Unread while ``read_at`` is empty. ``emailed_at`` records that its email went (set in
    the same transaction as the send, so the email goes once). Written by
    ``core.notifications.notifications_create`` in the transaction of the change it tells."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    contact_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "user", "-created_at"], name="notification_user"),
            models.Index(
                fields=["workspace", "user", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} for {self.user_id}"


class HomeState(models.Model):
    """What a member's home page remembers of them in one workspace: ``visited_at``, their
    latest visit; ``previous_visit_at``, their latest visit on an earlier day ("new since
    your last visit" counts from it, so reloading the page never empties the count); and
    ``checklist_dismissed_at``, when they hid the getting-started checklist. Written by
    ``core.services.home_visit_record`` and ``home_checklist_dismiss``."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="+")
    visited_at = models.DateTimeField(null=True, blank=True)
    previous_visit_at = models.DateTimeField(null=True, blank=True)
    checklist_dismissed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Home of membership {self.membership_id}"

    def new_since(self, day_start):
        """Where "new since your last visit" starts, read before this visit is recorded: the
        latest visit on an earlier day, and never later than the start of today."""
        if self.visited_at is not None and self.visited_at < day_start:
            return self.visited_at
        if self.previous_visit_at is not None and self.previous_visit_at < day_start:
            return self.previous_visit_at
        return day_start
