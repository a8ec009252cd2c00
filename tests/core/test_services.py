"""Workspaces, members and roles, API keys, audit entries."""

import pytest

from leadflow.core import services
from leadflow.core.errors import Conflict, ValidationFailed
from leadflow.core.models import ApiKey, AuditEntry, Membership, Role
from leadflow.core.selectors import apikey_authenticate, membership_for


def test_workspace_create_makes_an_owner_and_audits(workspace, owner):
    membership = Membership.objects.get(workspace=workspace, user=owner)
    assert membership.role == Role.OWNER
    assert AuditEntry.objects.filter(workspace=workspace, action="workspace.created").exists()
    with pytest.raises(Conflict):
        services.workspace_create(name="Acme Widgets", owner_email="x@example.com")


def test_roles_decide_permissions(workspace, make_member):
    assert make_member("viewer").can("read") and not make_member("viewer", "v2@example.com").can(
        "write"
    )
    sales = make_member("sales")
    assert sales.can("write") and not sales.can("delete")
    admin = make_member("admin")
    assert admin.can("manage_members") and admin.can("view_audit")
    assert not make_member("marketer").can("manage_settings")


def test_the_last_owner_cannot_be_demoted_or_removed(workspace, owner, owner_actor):
    membership = Membership.objects.get(workspace=workspace, user=owner)
    with pytest.raises(Conflict):
        services.member_set_role(
            workspace=workspace, membership_id=membership.pk, role=Role.ADMIN, actor=owner_actor
        )
    with pytest.raises(Conflict):
        services.member_remove(workspace=workspace, membership_id=membership.pk, actor=owner_actor)
    services.member_add(
        workspace=workspace, email="co@example.com", role=Role.OWNER, actor=owner_actor
    )
    services.member_set_role(
        workspace=workspace, membership_id=membership.pk, role=Role.ADMIN, actor=owner_actor
    )
    assert Membership.objects.get(pk=membership.pk).role == Role.ADMIN


def test_member_add_rejects_bad_role_and_duplicates(workspace, owner_actor):
    with pytest.raises(ValidationFailed):
        services.member_add(
            workspace=workspace, email="a@example.com", role="king", actor=owner_actor
        )
    services.member_add(workspace=workspace, email="a@example.com", role="sales", actor=owner_actor)
    with pytest.raises(Conflict):
        services.member_add(
            workspace=workspace, email="A@example.com", role="sales", actor=owner_actor
        )


def test_membership_for_another_workspace_is_not_found(workspace, other_workspace, owner):
    from leadflow.core.errors import NotFound

    assert membership_for(workspace_slug=workspace.slug, user=owner).workspace == workspace
    with pytest.raises(NotFound):
        membership_for(workspace_slug=other_workspace.slug, user=owner)


def test_api_keys_store_only_a_hash_and_check_scopes(workspace, owner_actor):
    key, secret = services.apikey_create(
        workspace=workspace, name="zapier", scopes=["contacts:read"], actor=owner_actor
    )
    assert secret.startswith(key.prefix + "_")
    assert ApiKey.objects.get(pk=key.pk).key_hash != secret
    assert apikey_authenticate(secret).pk == key.pk
    assert apikey_authenticate(secret + "x") is None
    assert apikey_authenticate(key.prefix + "_guess") is None
    with pytest.raises(ValidationFailed) as failure:
        services.apikey_create(workspace=workspace, name="", scopes=["root"], actor=owner_actor)
    assert {e.field for e in failure.value.errors} == {"name", "scopes"}
    services.apikey_revoke(workspace=workspace, key_id=key.pk, actor=owner_actor)
    assert apikey_authenticate(secret) is None
    assert AuditEntry.objects.filter(action="apikey.revoked", actor_user=owner_actor.user).exists()


def test_workspace_update_validates_and_audits(workspace, owner_actor):
    with pytest.raises(ValidationFailed) as failure:
        services.workspace_update(
            workspace=workspace, actor=owner_actor, default_country="ZZ", name=" "
        )
    assert {e.field for e in failure.value.errors} == {"default_country", "name"}
    services.workspace_update(workspace=workspace, actor=owner_actor, default_country="fr")
    workspace.refresh_from_db()
    assert workspace.default_country == "FR"
    entry = AuditEntry.objects.get(action="workspace.updated")
    assert entry.changes == {"default_country": ["GB", "FR"]}
