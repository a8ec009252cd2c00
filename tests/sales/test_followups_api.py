"""Follow-ups, calls, meetings, mentions and notifications over /api/v1: the happy paths,
bad input named field by field, and a list endpoint whose query count does not grow."""

import pytest

from leadflow.contacts.models import Activity
from leadflow.core.models import Notification
from leadflow.sales.models import FollowUp

pytestmark = pytest.mark.django_db


@pytest.fixture
def kim(lead):
    return lead(first_name="Kim")


def test_schedule_list_change_complete_and_delete(api, workspace, owner, kim):
    owner.time_zone = "Europe/Berlin"
    owner.save()
    created = api.post(
        "/followups",
        {
            "contact_id": kim.pk,
            "assignee_id": owner.pk,
            "title": "Call",
            "due_at": "2030-03-29T10:00",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    # Berlin moves its clocks on 31 March 2030: still winter time (UTC+1) on the 29th.
    assert body["due_at"].startswith("2030-03-29T09:00") and body["kind"] == "call"
    assert body["reminder_at"] == body["due_at"]
    fid = body["id"]

    listed = api.get(f"/followups?assignee_id={owner.pk}&due=upcoming").json()
    assert [item["id"] for item in listed["items"]] == [fid]
    assert api.get(f"/followups?assignee_id={owner.pk}&due=overdue").json()["items"] == []
    assert api.get(f"/followups?contact_id={kim.pk}").json()["items"][0]["id"] == fid

    patched = api.patch(
        f"/followups/{fid}", {"title": "Call again", "reminder_at": "2030-03-29T09:00"}
    )
    assert patched.status_code == 200
    assert patched.json()["reminder_at"].startswith("2030-03-29T08:00")
    done = api.post(f"/followups/{fid}/complete")
    assert done.status_code == 200 and done.json()["done_at"] is not None
    assert api.get("/followups?due=done").json()["items"][0]["id"] == fid
    assert api.post(f"/followups/{fid}/reopen").json()["done_at"] is None
    assert api.delete(f"/followups/{fid}").status_code == 204
    assert api.get(f"/followups/{fid}").status_code == 404


def test_bad_input_is_named_field_by_field(api, workspace, owner, kim):
    # An API key is not a person: the assignee must be named.
    response = api.post(
        "/followups", {"contact_id": kim.pk, "title": "x", "due_at": "2030-01-01T10:00"}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["assignee_id"]
    response = api.post(
        "/followups",
        {
            "contact_id": kim.pk,
            "assignee_id": owner.pk,
            "title": "",
            "due_at": "soon",
            "kind": "task",
        },
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"kind"}  # the schema speaks first
    response = api.post(
        "/followups", {"contact_id": kim.pk, "assignee_id": owner.pk, "title": "", "due_at": "soon"}
    )
    assert {e["field"] for e in response.json()["errors"]} == {"title", "due_at"}
    assert api.get("/followups?due=someday").status_code == 422
    assert api.get("/followups?time_zone=Mars/Olympus").status_code == 422
    assert not FollowUp.objects.exists()


def test_the_list_costs_the_same_for_one_or_many(
    api, workspace, owner, kim, lead, django_assert_max_num_queries
):
    def create(n):
        for number in range(n):
            api.post(
                "/followups",
                {
                    "contact_id": lead().pk,
                    "assignee_id": owner.pk,
                    "title": f"F{number}",
                    "due_at": "2030-01-01T10:00",
                },
            )

    create(1)
    # the key, the assignee's zone (their own, then their teams), the page
    with django_assert_max_num_queries(4):
        assert len(api.get(f"/followups?assignee_id={owner.pk}").json()["items"]) == 1
    create(10)
    with django_assert_max_num_queries(4):
        assert len(api.get(f"/followups?assignee_id={owner.pk}").json()["items"]) == 11


def test_a_call_with_its_next_follow_up_and_the_contacts_calls(api, workspace, owner, kim):
    response = api.post(
        f"/contacts/{kim.pk}/calls",
        {
            "outcome": "no_answer",
            "notes": "Voicemail full",
            "duration_minutes": 1,
            "next_followup": {
                "title": "Try again",
                "due_at": "2030-01-02T10:00",
                "assignee_id": owner.pk,
            },
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "call.logged"
    assert response.json()["data"]["outcome"] == "no_answer"
    assert FollowUp.objects.get().title == "Try again"
    assert [c["data"]["notes"] for c in api.get(f"/contacts/{kim.pk}/calls").json()] == [
        "Voicemail full"
    ]
    assert api.post(f"/contacts/{kim.pk}/meetings", {"outcome": "held"}).status_code == 201
    assert len(api.get(f"/contacts/{kim.pk}/meetings").json()) == 1
    bad = api.post(
        f"/contacts/{kim.pk}/calls",
        {
            "outcome": "no_answer",
            "next_followup": {"title": "", "due_at": "x", "assignee_id": owner.pk},
        },
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "next_followup.title",
        "next_followup.due_at",
    }
    assert api.post(f"/contacts/{kim.pk}/calls", {"outcome": "busy"}).status_code == 422
    assert Activity.objects.filter(kind="call.logged").count() == 1


def test_a_note_mentions_members_by_id_and_their_notifications_are_read(
    api, workspace, owner, make_member, kim
):
    seller = make_member("sales").user
    note = api.post(
        f"/contacts/{kim.pk}/notes", {"body": "Over to you", "mention_ids": [seller.pk]}
    )
    assert note.status_code == 201 and note.json()["data"]["mentions"] == [seller.pk]
    listed = api.get(f"/notifications?user_id={seller.pk}").json()
    assert listed["unread"] == 1 and listed["items"][0]["kind"] == "mention"
    assert api.get(f"/notifications/unread-count?user_id={seller.pk}").json() == {"unread": 1}
    read = api.post(f"/notifications/{listed['items'][0]['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert api.get(f"/notifications/unread-count?user_id={seller.pk}").json() == {"unread": 0}
    assert api.post("/notifications/read-all", {"user_id": seller.pk}).json() == {"unread": 0}
    assert api.get("/notifications?user_id=999999").status_code == 422
    bad = api.post(f"/contacts/{kim.pk}/notes", {"body": "x", "mention_ids": [999999]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "mention_ids"
    assert Notification.objects.count() == 1
