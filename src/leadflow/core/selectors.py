"""Reads for workspaces, members, API keys and the audit log. The workspace comes first."""

import hmac

from django.db.models import QuerySet

from leadflow.core.errors import NotFound
from leadflow.core.models import (
    ROLE_PERMISSIONS,
    ApiKey,
    AuditEntry,
    Membership,
    User,
    Workspace,
)


def workspaces_for_user(user: User) -> QuerySet[Workspace]:
    return Workspace.objects.filter(memberships__user=user).order_by("name")


def membership_for(*, workspace_slug: str, user: User) -> Membership:
    """The user's membership in the workspace, or NotFound (never reveals the workspace)."""
    membership = (
        Membership.objects.select_related("workspace", "user")
        .filter(workspace__slug=workspace_slug, user=user)
        .first()
    )
    if membership is None:
        raise NotFound("No such workspace.")
    return membership


# Roles that may own leads and act on them (ROLE_PERMISSIONS "write"): owner, admin,
# marketer, sales. A viewer only reads, so no lead is assigned to or announced to one.
LEAD_OWNER_PERMISSION = "write"


def roles_with(permission: str) -> list[str]:
    """The roles whose ROLE_PERMISSIONS grant ``permission``."""
    return [role for role, granted in ROLE_PERMISSIONS.items() if permission in granted]


def member_list(workspace: Workspace, *, permission: str | None = None) -> QuerySet[Membership]:
    """The workspace's memberships by email; only roles granting ``permission`` if given."""
    memberships = Membership.objects.filter(workspace=workspace)
    if permission is not None:
        memberships = memberships.filter(role__in=roles_with(permission))
    return memberships.select_related("user").order_by("user__email")


def member_users(workspace: Workspace, *, permission: str | None = None) -> QuerySet[User]:
    """The workspace's members as users by email; only roles granting ``permission`` if
    given (both conditions on one membership)."""
    if permission is None:
        return User.objects.filter(memberships__workspace=workspace).order_by("email")
    return User.objects.filter(
        memberships__workspace=workspace, memberships__role__in=roles_with(permission)
    ).order_by("email")


def is_member_id(workspace: Workspace, value: object, *, permission: str | None = None) -> bool:
    """Whether ``value`` (untrusted input) is the user id of a member of ``workspace``:
    an int (never a bool) naming a membership of this workspace, never another's, and
    with a role granting ``permission`` when one is given. An int no id column can hold
    (past 64 bits) is simply not one: the database is not asked."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 2**63 - 1:
        return False
    memberships = Membership.objects.filter(workspace=workspace, user_id=value)
    if permission is not None:
        memberships = memberships.filter(role__in=roles_with(permission))
    return memberships.exists()


def apikey_list(workspace: Workspace) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(workspace=workspace)
        .select_related("created_by")
        .order_by("-created_at")
    )


def apikey_authenticate(secret: str) -> ApiKey | None:
    """The active key whose secret this is, with its workspace; None for anything else."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != "lf":
        return None
    prefix = f"{parts[0]}_{parts[1]}"
    key = ApiKey.objects.select_related("workspace").filter(prefix=prefix).first()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, ApiKey.hash_secret(secret)):
        return None
    return key


def audit_list(workspace: Workspace) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(workspace=workspace).order_by("-created_at", "-id")
