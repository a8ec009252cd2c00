"""Settings → Pacing in the app: read by every member, changed by those who manage settings,
a bad input named beside its field (422, nothing saved)."""

import pytest

from leadflow.nurture.models import PacingSettings


@pytest.fixture
def page(workspace):
    return f"/w/{workspace.slug}/settings/pacing/"


def test_the_owner_changes_the_pacing_and_a_bad_field_is_named(client, owner, workspace, page):
    client.force_login(owner)
    shown = client.get(page)
    assert shown.status_code == 200
    assert b'name="cap_messages"' in shown.content and b'value="21:00"' in shown.content
    bad = client.post(
        page,
        {
            "cap_messages": "many",
            "cap_days": "7",
            "quiet_start": "25:00",
            "quiet_end": "08:00",
            "time_zone": "UTC",
            "pause_after_ignored": "5",
            "quiet_enabled": "on",
        },
    )
    assert bad.status_code == 422
    assert b'id="id_cap_messages_error"' in bad.content or b"cap_messages_error" in bad.content
    assert b"quiet_start_error" in bad.content
    assert b'value="many"' in bad.content  # what was typed is shown again
    assert not PacingSettings.objects.filter(workspace=workspace).exists()
    good = client.post(
        page,
        {
            "cap_messages": "2",
            "cap_days": "10",
            "quiet_start": "22:00",
            "quiet_end": "07:30",
            "time_zone": "Europe/Paris",
            "pause_after_ignored": "0",
        },
    )
    assert good.status_code == 302
    saved = PacingSettings.objects.get(workspace=workspace)
    assert (saved.cap_messages, saved.cap_days, saved.quiet_enabled) == (2, 10, False)
    assert saved.quiet_end.strftime("%H:%M") == "07:30" and saved.time_zone == "Europe/Paris"


def test_a_salesperson_reads_the_pacing_but_may_not_change_it(client, make_member, page, workspace):
    client.force_login(make_member("sales").user)
    shown = client.get(page)
    assert shown.status_code == 200 and b"Save pacing" not in shown.content
    assert client.post(page, {"cap_messages": "9"}).status_code == 403
    assert not PacingSettings.objects.filter(workspace=workspace).exists()


def test_another_workspace_member_cannot_reach_the_page(client, other_workspace, page):
    from leadflow.core.models import Membership

    other_owner = Membership.objects.filter(workspace=other_workspace).first().user
    client.force_login(other_owner)
    assert client.get(page).status_code == 404
