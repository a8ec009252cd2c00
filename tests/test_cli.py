"""The `leadflow` command, run in-process through leadflow.cli.main against the test database."""

import hashlib
import io
import json
import re
import stat
import sys

import pytest
from django.test import Client

from leadflow import demo
from leadflow.cli import main
from leadflow.config.api import api as ninja_api
from leadflow.core.models import ApiKey, AuditEntry, Membership, Role, User, Workspace

pytestmark = pytest.mark.django_db


def run(capsys, *argv):
    """Run the command; returns (exit status, stdout, stderr)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, err, *fragments):
    assert status != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0]


def printed(label, out):
    match = re.search(rf"^{label}: (\S+)$", out, re.MULTILINE)
    assert match, out
    return match.group(1)


# --- workspace create ------------------------------------------------------------------------


def test_workspace_create_generates_and_prints_the_owner_password(capsys):
    status, out, err = run(
        capsys,
        "workspace",
        "create",
        "Blue Harbor",
        "--owner-email",
        "Ann@Blue-Harbor.example",
        "--country",
        "de",
    )
    assert status == 0, err
    workspace = Workspace.objects.get(slug="blue-harbor")
    assert (workspace.name, workspace.default_country) == ("Blue Harbor", "DE")
    owner = User.objects.get(email="ann@blue-harbor.example")
    assert Membership.objects.get(workspace=workspace, user=owner).role == Role.OWNER
    password = printed("Password", out)
    assert owner.check_password(password)
    assert password not in owner.password
    assert "slug: blue-harbor" in out


def test_workspace_create_reads_the_password_from_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("violet-kettle-harbour-77\n"))
    status, out, err = run(
        capsys,
        "workspace",
        "create",
        "Kettle Co",
        "--owner-email",
        "boss@kettle.example",
        "--slug",
        "kettle",
        "--password-stdin",
    )
    assert status == 0, err
    assert User.objects.get(email="boss@kettle.example").check_password("violet-kettle-harbour-77")
    assert "violet-kettle-harbour-77" not in out
    assert Workspace.objects.filter(slug="kettle").exists()


def test_workspace_create_rejects_a_weak_stdin_password_and_writes_nothing(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    status, _, err = run(
        capsys,
        "workspace",
        "create",
        "Weak",
        "--owner-email",
        "weak@weak.example",
        "--password-stdin",
    )
    assert_one_line_error(status, err, "password")
    assert not Workspace.objects.filter(slug="weak").exists()
    assert not User.objects.filter(email="weak@weak.example").exists()


def test_workspace_create_keeps_an_existing_owners_password(capsys, workspace, owner):
    before = owner.password
    status, out, err = run(
        capsys, "workspace", "create", "Second Shop", "--owner-email", owner.email
    )
    assert status == 0, err
    assert "Password:" not in out and "unchanged" in out
    owner.refresh_from_db()
    assert owner.password == before
    assert Membership.objects.filter(user=owner, role=Role.OWNER).count() == 2


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--owner-email", "not-an-email"], "owner_email"),
        (["--owner-email", "ok@fine.example", "--country", "Atlantis"], "country"),
        (["--owner-email", "ok@fine.example", "--slug", "acme-widgets"], "exists already"),
    ],
)
def test_workspace_create_errors_are_one_line_on_stderr(capsys, workspace, arguments, fragment):
    count = Workspace.objects.count()
    status, out, err = run(capsys, "workspace", "create", "Broken", *arguments)
    assert_one_line_error(status, err, fragment)
    assert out == ""
    assert Workspace.objects.count() == count


def test_workspace_create_without_the_owner_is_a_usage_error(capsys):
    status, _, err = run(capsys, "workspace", "create", "Nobody")
    assert status == 2
    assert_one_line_error(status, err, "--owner-email")


# --- user add -----------------------------------------------------------------------------


def test_user_add_creates_the_member_with_a_printed_password(capsys, workspace):
    status, out, err = run(
        capsys,
        "user",
        "add",
        "Rep@Acme-Widgets.com",
        "--workspace",
        workspace.slug,
        "--role",
        "sales",
    )
    assert status == 0, err
    user = User.objects.get(email="rep@acme-widgets.com")
    assert Membership.objects.get(workspace=workspace, user=user).role == Role.SALES
    assert user.check_password(printed("Password", out))
    audit = AuditEntry.objects.get(workspace=workspace, action="member.added")
    assert audit.actor_label == "command line"


def test_user_add_with_password_stdin(capsys, monkeypatch, workspace):
    monkeypatch.setattr(sys, "stdin", io.StringIO("quiet-lantern-meadow-12\n"))
    status, out, err = run(
        capsys,
        "user",
        "add",
        "viewer@acme-widgets.com",
        "--workspace",
        workspace.slug,
        "--role",
        "viewer",
        "--password-stdin",
    )
    assert status == 0, err
    assert User.objects.get(email="viewer@acme-widgets.com").check_password(
        "quiet-lantern-meadow-12"
    )
    assert "quiet-lantern-meadow-12" not in out


def test_user_add_existing_user_keeps_their_password(capsys, workspace, other_workspace):
    other_owner = Membership.objects.get(workspace=other_workspace).user
    before = other_owner.password
    status, out, err = run(
        capsys, "user", "add", other_owner.email, "--workspace", workspace.slug, "--role", "admin"
    )
    assert status == 0, err
    assert "Password:" not in out and "unchanged" in out
    other_owner.refresh_from_db()
    assert other_owner.password == before


@pytest.mark.parametrize(
    ("email", "slug", "role", "fragment"),
    [
        ("someone@acme-widgets.com", "no-such-workspace", "sales", "no-such-workspace"),
        ("not an email", "acme-widgets", "sales", "email"),
        ("someone@acme-widgets.com", "acme-widgets", "emperor", "role"),
        ("owner@acme-widgets.com", "acme-widgets", "sales", "member already"),
    ],
)
def test_user_add_errors_are_one_line_on_stderr(capsys, workspace, email, slug, role, fragment):
    members = Membership.objects.count()
    status, out, err = run(capsys, "user", "add", email, "--workspace", slug, "--role", role)
    assert_one_line_error(status, err, fragment)
    assert out == ""
    assert Membership.objects.count() == members
    assert not User.objects.filter(email="someone@acme-widgets.com").exists()


# --- apikey create -------------------------------------------------------------------------


def test_apikey_create_prints_a_secret_that_authenticates_and_stores_only_its_hash(
    capsys, workspace
):
    status, out, err = run(
        capsys, "apikey", "create", "--workspace", workspace.slug, "--name", "Zapier"
    )
    assert status == 0, err
    secret = out.strip().splitlines()[-1]
    key = ApiKey.objects.get(workspace=workspace, name="Zapier")
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = " ".join(
        str(value) for value in ApiKey.objects.filter(pk=key.pk).values().get().values()
    )
    assert secret not in stored
    response = Client().get("/api/v1/workspace", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.content
    assert response.json()["slug"] == workspace.slug
    wrong = Client().get("/api/v1/workspace", headers={"Authorization": f"Bearer {secret}x"})
    assert wrong.status_code == 401


def test_apikey_create_with_scopes_limits_the_key(capsys, workspace):
    status, out, err = run(
        capsys,
        "apikey",
        "create",
        "--workspace",
        workspace.slug,
        "--scope",
        "contacts:read",
        "--scope",
        "contacts:write",
    )
    assert status == 0, err
    secret = out.strip().splitlines()[-1]
    assert ApiKey.objects.get(workspace=workspace).scopes == ["contacts:read", "contacts:write"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert Client().get("/api/v1/contacts", headers=headers).status_code == 200
    assert Client().get("/api/v1/workspace", headers=headers).status_code == 403


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--workspace", "nowhere"], "nowhere"),
        (["--workspace", "acme-widgets", "--scope", "everything:admin"], "scopes"),
        (["--workspace", "acme-widgets", "--name", "  "], "name"),
    ],
)
def test_apikey_create_errors_are_one_line_on_stderr(capsys, workspace, arguments, fragment):
    status, out, err = run(capsys, "apikey", "create", *arguments)
    assert_one_line_error(status, err, fragment)
    assert out == ""
    assert not ApiKey.objects.exists()


# --- demo ------------------------------------------------------------------------------------


def test_demo_builds_refuses_twice_resets_and_deletes(capsys, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    status, out, err = run(capsys, "demo", "--contacts", "40")
    assert status == 0, err
    password = re.search(r"with the password: (\S+)", out).group(1)
    login_file = tmp_path / "demo-login.txt"
    assert stat.S_IMODE(login_file.stat().st_mode) == 0o600
    assert password in login_file.read_text()
    for login in (out, login_file.read_text()):  # every other login, with its role
        assert re.search(r"maya\.chen@example\.com\s+Marketer", login)
        assert re.search(r"sam\.rivera@example\.com\s+Sales", login)
        assert re.search(r"priya\.nair@example\.com\s+Viewer", login)
    assert User.objects.get(email="demo@example.com").check_password(password)
    first = Workspace.objects.get(slug="demo")

    status, _, err = run(capsys, "demo")
    assert_one_line_error(status, err, "--reset")

    status, out, err = run(capsys, "demo", "--reset", "--contacts", "30")
    assert status == 0, err
    assert f"with the password: {password}" in out  # the same login keeps working
    assert not Workspace.objects.filter(pk=first.pk).exists()
    # 30, the newsletter readers of nurture's part (leadflow.nurture.demo), the visitors
    # who earned a lead magnet (capture.demo, pages.demo: one grant each) and the chat's
    # visitors who gave an email (chat.demo: one conversation each).
    from leadflow.capture.models import MagnetGrant
    from leadflow.chat.models import Conversation
    from leadflow.nurture.demo import NEW_SUBSCRIBERS, NEWSLETTER_READERS

    visitors = MagnetGrant.objects.filter(magnet__workspace__slug="demo").count()
    chatted = Conversation.objects.filter(workspace__slug="demo", contact__isnull=False).count()
    assert visitors > 0 and chatted > 0
    contacts = 30 + NEWSLETTER_READERS + NEW_SUBSCRIBERS + visitors + chatted
    assert demo.demo_summary(Workspace.objects.get(slug="demo")).count(f"{contacts} contacts") == 1

    status, out, err = run(capsys, "demo", "--delete")
    assert status == 0, err
    assert not Workspace.objects.filter(slug="demo").exists()
    assert not login_file.exists()
    assert not User.objects.filter(email="demo@example.com").exists()


def test_demo_rejects_a_bad_count(capsys):
    status, _, err = run(capsys, "demo", "--contacts", "none")
    assert status == 2
    assert_one_line_error(status, err, "--contacts")


# --- openapi, check, migrate, manage, help -----------------------------------------------------


def test_openapi_prints_the_schema_as_stable_json(capsys):
    status, out, err = run(capsys, "openapi")
    assert status == 0, err
    assert out.endswith("}\n")
    schema = json.loads(out)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/contacts" in schema["paths"]
    assert out == json.dumps(ninja_api.get_openapi_schema(), indent=2, sort_keys=True) + "\n"


def test_check_reports_no_issues(capsys):
    status, out, err = run(capsys, "check")
    assert status == 0, err
    assert "no issues" in out


def test_migrate_is_a_no_op_on_a_migrated_database(capsys):
    status, out, err = run(capsys, "migrate")
    assert status == 0, err
    assert "No migrations to apply" in out


def test_manage_passes_through_to_django(capsys, workspace):
    status, out, err = run(
        capsys,
        "manage",
        "shell",
        "-c",
        "from leadflow.core.models import Workspace; "
        "print('slugs', *Workspace.objects.values_list('slug', flat=True))",
    )
    assert status == 0, err
    assert "slugs acme-widgets" in out


def test_manage_unknown_command_fails(capsys):
    status, _, err = run(capsys, "manage", "no_such_command")
    assert status != 0
    assert "Unknown command" in err


def test_unknown_command_is_a_one_line_usage_error(capsys):
    status, _, err = run(capsys, "frobnicate")
    assert status == 2
    assert_one_line_error(status, err, "frobnicate")


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["worker"],
        ["migrate"],
        ["demo"],
        ["workspace"],
        ["workspace", "create"],
        ["user"],
        ["user", "add"],
        ["apikey"],
        ["apikey", "create"],
        ["openapi"],
        ["check"],
        ["import", "contacts"],
        ["import", "activities"],
        ["sales"],
        ["sales", "route"],
        ["sales", "speed"],
    ],
)
def test_every_command_has_help(capsys, command):
    status, out, err = run(capsys, *command, "--help")
    assert status == 0, err
    assert out.startswith(f"usage: {' '.join(['leadflow', *command])}")
    assert "--help" in out


def test_manage_help_lists_djangos_commands(capsys):
    status, out, _ = run(capsys, "manage", "help")
    assert status == 0
    assert "migrate" in out and "db_worker" in out


def test_a_group_without_its_subcommand_shows_its_help(capsys):
    status, out, err = run(capsys, "workspace")
    assert status == 2
    assert "create" in err and out == ""


def test_workspace_show_and_update(workspace, capsys):
    from leadflow.cli import main

    assert main(["workspace", "show", workspace.slug]) == 0
    out = capsys.readouterr().out
    assert workspace.public_key in out and "any site" in out
    code = main(
        [
            "workspace",
            "update",
            workspace.slug,
            "--allowed-origin",
            "https://www.acme-widgets.com/",
            "--allowed-origin",
            "https://shop.acme.io",
            "--tracking-requires-consent",
            "yes",
            "--event-retention-days",
            "90",
        ]
    )
    assert code == 0
    workspace.refresh_from_db()
    assert workspace.allowed_origins == ["https://www.acme-widgets.com", "https://shop.acme.io"]
    assert workspace.tracking_requires_consent and workspace.event_retention_days == 90
    capsys.readouterr()
    assert main(["workspace", "update", workspace.slug, "--allowed-origin", "nope"]) != 0
    assert "allowed_origins" in capsys.readouterr().err
    assert main(["workspace", "update", workspace.slug, "--any-origin"]) == 0
    workspace.refresh_from_db()
    assert workspace.allowed_origins == []
    assert main(["workspace", "show", "no-such-workspace"]) != 0


def test_maintain(workspace, capsys):
    from leadflow.cli import main

    assert main(["maintain"]) == 0
    assert "Events past retention deleted: 0." in capsys.readouterr().out
