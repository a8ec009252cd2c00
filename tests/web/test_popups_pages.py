"""The pop-up pages: list with figures, create and edit (each bad setting named on its
input, the condition editor's rows), delete; roles and other workspaces."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.capture.popups import services
from leadflow.capture.popups.models import Popup
from leadflow.core.actors import Actor

from .conftest import url


def good_post(**overrides):
    data = {
        "name": "Guide offer",
        "status": "active",
        "style": "slide_in",
        "content": "notice",
        "title": "Read the guide",
        "body": "It is free.",
        "time_seconds": "",
        "scroll_percent": "40",
        "inactivity_seconds": "",
        "click_selector": "",
        "exit_intent": "on",
        "include": "/blog/*\n/guides/*",
        "exclude": "",
        "devices": ["desktop", "mobile"],
        "visitors": "all",
        "audience": "everyone",
        "utm_source": "",
        "utm_medium": "",
        "utm_campaign": "",
        "channels": ["email"],
        "conditions-mode": "rows",
        "conditions-match": "all",
        "conditions-field": ["lifecycle_stage", ""],
        "conditions-operator": ["ne", ""],
        "conditions-value": ["customer", ""],
        "once_per_session": "on",
        "every_days": "",
        "closed_days": "7",
        "stop_after_convert": "on",
    }
    data.update(overrides)
    return data


def test_create_edit_list_and_delete(owner_client, workspace):
    assert owner_client.get(url(workspace, "popups/")).status_code == 200
    assert owner_client.get(url(workspace, "popups/new/")).status_code == 200
    response = owner_client.post(url(workspace, "popups/new/"), good_post())
    assert response.status_code == 302, response.content.decode()[:3000]
    popup = Popup.objects.get(workspace=workspace)
    assert popup.triggers["scroll_percent"] == 40 and popup.triggers["exit_intent"]
    assert popup.targeting["include"] == ["/blog/*", "/guides/*"]
    assert popup.targeting["devices"] == ["desktop", "mobile"]
    assert popup.targeting["conditions"]["children"][0]["value"] == "customer"
    page = owner_client.get(url(workspace, f"popups/{popup.pk}/")).content.decode()
    assert "Read the guide" in page and 'value="customer"' in page

    bad = owner_client.post(
        url(workspace, f"popups/{popup.pk}/"),
        good_post(
            scroll_percent="lots",
            devices=[],
            include="x" * 300,
            **{"conditions-field": ["nope"], "conditions-operator": ["eq"]},
        ),
    )
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "Must be a number." in text and "Choose at least one device." in text
    assert "At most 200 characters." in text and "Unknown field" in text

    for index in range(3):
        services.popup_create(
            workspace=workspace,
            actor=Actor.system(),
            data={"name": f"Extra {index}", "title": "T"},
        )
    with CaptureQueriesContext(connection) as captured:
        listed = owner_client.get(url(workspace, "popups/"))
    assert listed.status_code == 200 and "Extra 2" in listed.content.decode()
    few = len(captured)
    services.popup_create(
        workspace=workspace,
        actor=Actor.system(),
        data={"name": "Extra 3", "title": "T"},
    )
    with CaptureQueriesContext(connection) as captured:
        owner_client.get(url(workspace, "popups/"))
    assert len(captured) == few, "one more pop-up, no more queries"

    assert owner_client.get(url(workspace, f"popups/{popup.pk}/delete/")).status_code == 200
    assert owner_client.post(url(workspace, f"popups/{popup.pk}/delete/")).status_code == 302
    assert not Popup.objects.filter(pk=popup.pk).exists()


def test_roles_and_other_workspaces(owner_client, client_for, workspace, other_workspace):

    theirs = services.popup_create(
        workspace=other_workspace, actor=Actor.system(), data={"name": "Theirs", "title": "T"}
    )
    assert owner_client.get(url(workspace, f"popups/{theirs.pk}/")).status_code == 404
    assert owner_client.post(url(workspace, f"popups/{theirs.pk}/delete/")).status_code == 404
    ours = services.popup_create(
        workspace=workspace, actor=Actor.system(), data={"name": "Ours", "title": "T"}
    )
    viewer, _ = client_for("viewer")
    assert viewer.get(url(workspace, f"popups/{ours.pk}/")).status_code == 200
    assert viewer.post(url(workspace, f"popups/{ours.pk}/"), good_post()).status_code == 403
    assert viewer.post(url(workspace, f"popups/{ours.pk}/delete/")).status_code == 403
    assert Popup.objects.get(pk=ours.pk).name == "Ours"
    assert owner_client.get(url(workspace, "popups/99999999999999999999/")).status_code == 404
