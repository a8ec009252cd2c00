"""Writes for workspaces, members, API keys and the audit log.

Every service is keyword-only, runs in one transaction and records an audit entry.
"""

import hashlib
import logging
import math
import secrets
import time
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

import pycountry
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import (
    ALL_API_SCOPES,
    ApiKey,
    AuditEntry,
    HomeState,
    Membership,
    Role,
    User,
    Workspace,
)
from leadflow.core.origins import origins_clean
from leadflow.core.ratelimit import rate_limit_add, rate_limit_clear
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.validation import email_normalise

logger = logging.getLogger(__name__)


def audit_record(
    *,
    workspace: Workspace,
    actor: Actor,
    action: str,
    obj: Any = None,
    changes: dict | None = None,
) -> AuditEntry:
    """Append one audit entry. Call it inside the transaction of the change it describes."""
    return AuditEntry.objects.create(
        workspace=workspace,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        actor_label=actor.label[:200],
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""),
        object_label=str(obj)[:300] if obj is not None else "",
        changes=changes or {},
    )


def password_generate() -> str:
    return secrets.token_urlsafe(12)


def user_get_or_create(
    *, email: str, password: str | None = None, full_name: str = ""
) -> tuple[User, bool]:
    """The user with this email, created (with the given password) when missing."""
    normalised = email_normalise(email, field="email")
    user = User.objects.filter(email=normalised).first()
    if user:
        return user, False
    user = User.objects.create_user(normalised, password=password, full_name=full_name)
    return user, True


@transaction.atomic
def workspace_create(
    *,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    slug: str = "",
    default_country: str = "US",
    actor: Actor | None = None,
) -> tuple[Workspace, User]:
    """Create a workspace and make ``owner_email`` its owner (creating that user if needed)."""
    name = name.strip()
    if not name:
        raise ValidationFailed([FieldError("name", "A workspace needs a name.")])
    slug = slugify(slug or name)[:60] or "workspace"
    if Workspace.objects.filter(slug=slug).exists():
        raise Conflict(f"A workspace with the slug '{slug}' exists already.", code="slug_taken")
    workspace = Workspace.objects.create(
        name=name, slug=slug, default_country=default_country.upper()
    )
    owner, _ = user_get_or_create(email=owner_email, password=owner_password)
    membership = Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    acting = actor or Actor.for_user(owner, membership)
    audit_record(workspace=workspace, actor=acting, action="workspace.created", obj=workspace)
    return workspace, owner


@transaction.atomic
def workspace_update(*, workspace: Workspace, actor: Actor, **changes: Any) -> Workspace:
    """Change workspace settings: name, default_country, sales_sees_all_leads, the allowed
    site origins and the tracking settings."""
    allowed = {
        "name",
        "default_country",
        "sales_sees_all_leads",
        "allowed_origins",
        "respect_privacy_signals",
        "tracking_requires_consent",
        "event_retention_days",
    }
    errors = [FieldError(key, "Unknown setting.") for key in changes if key not in allowed]
    if "allowed_origins" in changes:
        try:
            changes["allowed_origins"] = origins_clean(changes["allowed_origins"])
        except ValueError as problem:
            errors.append(
                FieldError(
                    "allowed_origins",
                    f"Not an origin such as https://www.example.com: {str(problem)[:80]}",
                )
            )
    if "event_retention_days" in changes and not (
        isinstance(changes["event_retention_days"], int)
        and 1 <= changes["event_retention_days"] <= 3650
    ):
        errors.append(FieldError("event_retention_days", "A whole number of days, 1 to 3650."))
    if "default_country" in changes:
        code = str(changes["default_country"] or "").upper()
        if not pycountry.countries.get(alpha_2=code):
            errors.append(FieldError("default_country", "Use a two-letter ISO country code."))
        changes["default_country"] = code
    if "name" in changes and not str(changes["name"]).strip():
        errors.append(FieldError("name", "A workspace needs a name."))
    if errors:
        raise ValidationFailed(errors)
    diff = {}
    for key, value in changes.items():
        if getattr(workspace, key) != value:
            diff[key] = [getattr(workspace, key), value]
            setattr(workspace, key, value)
    if diff:
        workspace.save(update_fields=list(diff))
        audit_record(
            workspace=workspace,
            actor=actor,
            action="workspace.updated",
            obj=workspace,
            changes=diff,
        )
    return workspace


@transaction.atomic
def member_add(
    *,
    workspace: Workspace,
    email: str,
    role: str,
    actor: Actor,
    password: str | None = None,
    full_name: str = "",
) -> tuple[Membership, bool]:
    """Add a person to the workspace with a role; returns (membership, user_was_created)."""
    if role not in Role.values:
        raise ValidationFailed([FieldError("role", f"Choose one of: {', '.join(Role.values)}.")])
    user, created = user_get_or_create(email=email, password=password, full_name=full_name)
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise Conflict(f"{user.email} is a member already.", code="already_member")
    membership = Membership.objects.create(workspace=workspace, user=user, role=role)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="member.added",
        obj=membership,
        changes={"email": user.email, "role": role},
    )
    return membership, created


def _owner_count(workspace: Workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role=Role.OWNER).count()


@transaction.atomic
def member_set_role(
    *, workspace: Workspace, membership_id: int, role: str, actor: Actor
) -> Membership:
    """Change a member's role; a workspace always keeps at least one owner."""
    if role not in Role.values:
        raise ValidationFailed([FieldError("role", f"Choose one of: {', '.join(Role.values)}.")])
    membership = (
        Membership.objects.select_for_update().filter(workspace=workspace, pk=membership_id).first()
    )
    if membership is None:
        raise NotFound("No such member.")
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(workspace) == 1:
        raise Conflict("A workspace needs at least one owner.", code="last_owner")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        workspace=workspace,
        actor=actor,
        action="member.role_changed",
        obj=membership,
        changes={"role": [old, role]},
    )
    return membership


# What other apps do when a member leaves a workspace (sales: their open leads go back to
# routing or to a successor). Core is the lowest layer and may not import them, so they
# register a hook here in their ``AppConfig.ready``; each is called as
# ``hook(workspace=..., user_id=..., successor_id=..., actor=...)`` inside the removal's
# transaction, after the membership is gone, so a failing hook undoes the removal.
MEMBER_REMOVED_HOOKS: list[Callable[..., None]] = []


@transaction.atomic
def member_remove(
    *,
    workspace: Workspace,
    membership_id: int,
    actor: Actor,
    successor_id: int | None = None,
) -> None:
    """Take a person out of the workspace (never its last owner), then run every
    ``MEMBER_REMOVED_HOOKS`` in the same transaction. ``successor_id``: a remaining member
    who may own leads, who takes over what the apps hand over (ValidationFailed naming
    ``successor_id`` otherwise); None lets each app decide (sales routes the leads again)."""
    membership = Membership.objects.filter(workspace=workspace, pk=membership_id).first()
    if membership is None:
        raise NotFound("No such member.")
    if membership.role == Role.OWNER and _owner_count(workspace) == 1:
        raise Conflict("A workspace needs at least one owner.", code="last_owner")
    if successor_id is not None and (
        successor_id == membership.user_id
        or not is_member_id(workspace, successor_id, permission=LEAD_OWNER_PERMISSION)
    ):
        raise ValidationFailed(
            [FieldError("successor_id", "Another member of this workspace who may own leads.")]
        )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="member.removed",
        obj=membership,
        changes={"email": membership.user.email, "successor_id": successor_id},
    )
    membership.delete()
    for hook in MEMBER_REMOVED_HOOKS:
        hook(
            workspace=workspace, user_id=membership.user_id, successor_id=successor_id, actor=actor
        )


@transaction.atomic
def apikey_create(
    *, workspace: Workspace, name: str, scopes: list[str] | None, actor: Actor
) -> tuple[ApiKey, str]:
    """Create an API key; returns the key and its secret, which is never stored or shown again."""
    scopes = list(dict.fromkeys(scopes or ALL_API_SCOPES))
    unknown = [scope for scope in scopes if scope not in ALL_API_SCOPES]
    errors = []
    if unknown:
        errors.append(FieldError("scopes", f"Unknown scopes: {', '.join(unknown)}."))
    if not name.strip():
        errors.append(FieldError("name", "Give the key a name."))
    if errors:
        raise ValidationFailed(errors)
    for _ in range(3):
        prefix = "lf_" + secrets.token_hex(ApiKey.PREFIX_LENGTH // 2 - 1)
        secret = f"{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    workspace=workspace,
                    name=name.strip(),
                    prefix=prefix,
                    key_hash=ApiKey.hash_secret(secret),
                    scopes=scopes,
                    created_by=actor.user,
                )
            break
        except IntegrityError:  # prefix collision: draw again
            continue
    else:  # pragma: no cover - three collisions of 40 random bits
        raise Conflict("Could not draw a unique key prefix.")
    audit_record(
        workspace=workspace,
        actor=actor,
        action="apikey.created",
        obj=key,
        changes={"scopes": scopes},
    )
    return key, secret


@transaction.atomic
def apikey_revoke(*, workspace: Workspace, key_id: int, actor: Actor) -> ApiKey:
    key = ApiKey.objects.filter(workspace=workspace, pk=key_id).first()
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(workspace=workspace, actor=actor, action="apikey.revoked", obj=key)
    return key


# --- sign-in throttling --------------------------------------------------------------------


def _login_buckets(email: str, ip: str | None) -> list[tuple[str, str, int]]:
    """(scope, bucket, limit) for the account and the address a password is tried from.
    The email is hashed into the key: it is typed text of any length and characters."""
    account = hashlib.sha256(email.strip().lower().encode("utf-8", "replace")).hexdigest()
    return [
        ("account", f"login-account:{account}", settings.LEADFLOW_LOGIN_FAILURES_PER_ACCOUNT),
        ("address", f"login-ip:{ip or 'unknown'}", settings.LEADFLOW_LOGIN_FAILURES_PER_IP),
    ]


def _lock_key(bucket: str) -> str:
    return f"login-locked:{bucket}"


def login_throttle_wait(*, email: str, ip: str | None) -> int:
    """Seconds before a password may be tried again for this account or from this address;
    0 when it may be tried now (decision 0017)."""
    now = time.time()
    wait = 0.0
    for _, bucket, _ in _login_buckets(email, ip):
        until = cache.get(_lock_key(bucket))
        if until:
            wait = max(wait, until - now)
    return math.ceil(wait)


def login_failure_record(*, email: str, ip: str | None) -> None:
    """Count one wrong password for the account and for the address (in windows of
    LEADFLOW_LOGIN_LOCK_MINUTES on the cache). The one that reaches a limit locks that
    account or address for LEADFLOW_LOGIN_LOCK_MINUTES from now, and writes an audit entry
    ``login.throttled`` in every workspace of the account (if the email is one), saying
    which limit, from where and for how long, so its owners and admins see someone
    guessing; it is also logged."""
    window = settings.LEADFLOW_LOGIN_LOCK_MINUTES * 60
    until = time.time() + window
    reached = [
        (scope, limit)
        for scope, bucket, limit in _login_buckets(email, ip)
        if limit > 0
        and rate_limit_add(bucket, window_seconds=window) >= limit
        and cache.add(_lock_key(bucket), until, timeout=window)
    ]
    if not reached:
        return
    logger.warning(
        "sign-in throttled (%s) for %r from %s", ", ".join(s for s, _ in reached), email, ip
    )
    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        return
    actor = Actor.system(f"sign-in from {ip or 'an unknown address'}")
    with transaction.atomic():
        for membership in Membership.objects.filter(user=user).select_related("workspace"):
            for scope, limit in reached:
                audit_record(
                    workspace=membership.workspace,
                    actor=actor,
                    action="login.throttled",
                    obj=user,
                    changes={
                        "scope": scope,
                        "ip": ip or "",
                        "wrong_passwords": limit,
                        "minutes": settings.LEADFLOW_LOGIN_LOCK_MINUTES,
                    },
                )


def login_success_record(*, email: str) -> None:
    """A right password clears the account's count (not the address's: others share it)."""
    _, bucket, _ = _login_buckets(email, None)[0]
    rate_limit_clear(bucket, window_seconds=settings.LEADFLOW_LOGIN_LOCK_MINUTES * 60)


@transaction.atomic
def user_profile_update(*, user: User, data: Mapping[str, Any]) -> User:
    """Change the person's own name (``full_name``) and ``time_zone`` (an IANA name such
    as Europe/Berlin, or empty for "my team's zone, else UTC"); ValidationFailed naming
    each bad or unknown field. A person's own settings belong to no workspace, so no audit
    entry is written."""
    errors = [
        FieldError(key, "Unknown field.") for key in data if key not in ("full_name", "time_zone")
    ]
    changes: dict[str, str] = {}
    if "full_name" in data:
        name = data["full_name"]
        if not isinstance(name, str) or len(name.strip()) > 200:
            errors.append(FieldError("full_name", "At most 200 characters."))
        else:
            changes["full_name"] = name.strip()
    if "time_zone" in data:
        zone = data["time_zone"]
        if not isinstance(zone, str) or (zone and not _is_time_zone(zone)):
            errors.append(FieldError("time_zone", "Not a known time zone (Europe/Berlin)."))
        else:
            changes["time_zone"] = zone
    if errors:
        raise ValidationFailed(errors)
    for name, value in changes.items():
        setattr(user, name, value)
    if changes:
        user.save(update_fields=list(changes))
    return user


def _is_time_zone(name: str) -> bool:
    if len(name) > 64 or name in ("localtime", "Factory"):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --- the home page's memory of a member ------------------------------------------------------
# A visit and a hidden checklist are the member's own view of the page, not changes to the
# workspace: they write no audit entry.


def home_visit_record(*, membership: Membership, day_start: Any, now: Any = None) -> HomeState:
    """Record a visit of the member's home page at ``now`` and return the state as it was
    before it (unsaved ``HomeState`` on a first visit). The first visit on a new day (from
    ``day_start``, the start of the member's today) moves the previous ``visited_at`` to
    ``previous_visit_at``, so "since your last visit" stays the same all day. Two queries
    once the state exists; two tabs at once both leave the same result."""
    now = now or timezone.now()
    before = HomeState.objects.filter(membership=membership).first()
    if before is None:
        with transaction.atomic():
            HomeState.objects.get_or_create(membership=membership, defaults={"visited_at": now})
        return HomeState(membership=membership)
    previous = before.previous_visit_at
    if before.visited_at is not None and before.visited_at < day_start:
        previous = before.visited_at
    HomeState.objects.filter(pk=before.pk).update(visited_at=now, previous_visit_at=previous)
    return before


def home_checklist_dismiss(*, membership: Membership) -> None:
    """Hide the getting-started checklist on this member's home page (idempotent: the first
    dismissal's time is kept)."""
    with transaction.atomic():
        state, _ = HomeState.objects.get_or_create(membership=membership)
        if state.checklist_dismissed_at is None:
            HomeState.objects.filter(pk=state.pk).update(checklist_dismissed_at=timezone.now())
