"""Broadcasts in the app: a marketer writes an A/B broadcast (variant B with its own
subject), sends it now, sees the audience split and each variant's figures; a bad form
shows each error on its field; readers read but do not send; another workspace's
broadcast is 404."""

import re

import pytest

from leadflow.nurture.models import Broadcast
from leadflow.nurture.services.broadcasts import broadcast_step
from leadflow.nurture.services.segments import segment_create, segment_members_add
from tests.nurture import sending_kit


def url(workspace, path=""):
    return f"/w/{workspace.slug}/broadcasts/{path}"


def setup(workspace, owner_actor, n=40):
    message = sending_kit.message_make(workspace, port=25)
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "Readers", "kind": "static"}
    )
    ids = sending_kit.contacts_make(workspace, n)
    segment_members_add(workspace=workspace, segment=segment, contact_ids=ids, actor=owner_actor)
    return message, segment


def test_a_marketer_sends_an_ab_broadcast(workspace, client_for, owner_actor):
    message, segment = setup(workspace, owner_actor)
    marketer = client_for("marketer")
    form = {
        "name": "December",
        "segment_id": segment.pk,
        "A-template_id": message.template_id,
        "A-identity_id": message.identity_id,
        "B-template_id": message.template_id,
        "B-identity_id": message.identity_id,
        "B-subject": "Only this week",
        "test_percent": "50",
        "test_hours": "3",
        "min_sample": "10",
        "confidence": "95",
        "undecided": "best",
    }
    assert marketer.post(url(workspace, "new/"), form).status_code == 302
    broadcast = Broadcast.objects.get()
    assert broadcast.ab_test and broadcast.confidence == pytest.approx(0.95)
    assert marketer.post(url(workspace, f"{broadcast.pk}/schedule/")).status_code == 302
    broadcast_step(broadcast.pk)
    page = marketer.get(url(workspace, f"{broadcast.pk}/")).content.decode()
    assert "Testing the variants" in page and "Only this week" in page
    # Half of 40 in the test (10 each), 20 for the winner.
    assert re.search(r"<dt>In the test</dt><dd>20</dd>", page)
    assert re.search(r"<dt>The rest</dt>\s*<dd>20</dd>", page)
    assert "December" in marketer.get(url(workspace)).content.decode()


def test_a_bad_form_shows_each_error(workspace, client_for, owner_actor):
    setup(workspace, owner_actor)
    response = client_for("marketer").post(
        url(workspace, "new/"), {"name": "", "segment_id": "", "test_hours": "999"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Give a name" in body and "Choose a segment" in body
    assert "Choose a template." in body and "from 1 to 168" in body
    assert not Broadcast.objects.exists()


def test_readers_read_and_other_workspaces_are_hidden(
    workspace, other_workspace, client_for, owner_actor
):
    from leadflow.core.actors import Actor
    from leadflow.nurture.services.broadcasts import broadcast_create

    message, segment = setup(workspace, owner_actor, n=3)
    mine = broadcast_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "Mine",
            "segment_id": segment.pk,
            "variants": [{"template_id": message.template_id, "identity_id": message.identity_id}],
        },
    )
    theirs_message, theirs_segment = setup(other_workspace, Actor.system(), n=1)
    theirs = broadcast_create(
        workspace=other_workspace,
        actor=Actor.system(),
        values={
            "name": "Theirs",
            "segment_id": theirs_segment.pk,
            "variants": [
                {
                    "template_id": theirs_message.template_id,
                    "identity_id": theirs_message.identity_id,
                }
            ],
        },
    )
    sales = client_for("sales")
    assert sales.get(url(workspace, f"{mine.pk}/")).status_code == 200
    assert sales.post(url(workspace, f"{mine.pk}/schedule/")).status_code == 403
    marketer = client_for("marketer")
    assert marketer.get(url(workspace, f"{theirs.pk}/")).status_code == 404
    assert marketer.post(url(workspace, f"{theirs.pk}/schedule/")).status_code == 404
    assert marketer.post(url(workspace, f"{theirs.pk}/cancel/")).status_code == 404
    assert Broadcast.objects.get(pk=theirs.pk).status == "draft"
    assert Broadcast.objects.get(pk=mine.pk).status == "draft"
