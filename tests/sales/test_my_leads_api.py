"""The salesperson's queue over /api/v1: the member's queue in the app's order, and
snooze / unsnooze / hand back / disqualify."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadflow.contacts.models import Contact, LifecycleStage
from leadflow.contacts.services import contact_update
from leadflow.sales.models import LeadSnooze


@pytest.fixture
def sam(salesperson):
    return salesperson("sam")


@pytest.fixture
def owned(workspace, owner_actor, lead, sam):
    def make(temperature="cold", **fields):
        contact = lead(temperature=temperature, **fields)
        contact_update(
            workspace=workspace, contact_id=contact.pk, data={"owner_id": sam.pk}, actor=owner_actor
        )
        return contact

    return make


def test_the_queue_names_its_member_and_pages_in_order(api, owned, sam, owner):
    cold, hot, warm = owned("cold"), owned("hot"), owned("warm")
    first = api.get(f"/my-leads?user_id={sam.pk}&limit=2")
    assert first.status_code == 200
    body = first.json()
    assert [item["id"] for item in body["items"]] == [hot.pk, warm.pk]
    second = api.get(f"/my-leads?user_id={sam.pk}&limit=2&cursor={body['next_cursor']}").json()
    assert [item["id"] for item in second["items"]] == [cold.pk]
    assert second["next_cursor"] is None
    assert api.get(f"/my-leads?user_id={owner.pk}").json()["items"] == []


def test_the_queue_costs_the_same_queries_for_more_leads(api, owned, sam):
    owned("hot")
    api.get(f"/my-leads?user_id={sam.pk}")  # the key's first use writes its last-used time
    with CaptureQueriesContext(connection) as few:
        api.get(f"/my-leads?user_id={sam.pk}")
    for _ in range(5):
        owned("warm")
    with CaptureQueriesContext(connection) as many:
        assert len(api.get(f"/my-leads?user_id={sam.pk}").json()["items"]) == 6
    assert len(many) == len(few)


@pytest.mark.parametrize("query", ["", "user_id=999999", "user_id=x", "user_id={sam}&cursor=zz"])
def test_a_bad_queue_request_is_a_422(api, sam, query):
    answer = api.get(f"/my-leads?{query.format(sam=sam.pk)}")
    assert answer.status_code == 422


def test_snooze_unsnooze_hand_back_and_disqualify(api, owned, sam):
    sleepy, dropped, returned = owned("hot"), owned("hot"), owned("hot")
    until = (timezone.now() + dt.timedelta(hours=3)).isoformat()
    answer = api.post(f"/contacts/{sleepy.pk}/snooze", {"user_id": sam.pk, "until": until})
    assert answer.status_code == 200, answer.content
    ids = [item["id"] for item in api.get(f"/my-leads?user_id={sam.pk}").json()["items"]]
    assert sleepy.pk not in ids
    assert api.post(f"/contacts/{sleepy.pk}/unsnooze", {"user_id": sam.pk}).json()["ended"]
    assert not LeadSnooze.objects.exists()
    answer = api.post(f"/contacts/{dropped.pk}/disqualify", {"reason": "Student"})
    assert answer.json()["lifecycle_stage"] == LifecycleStage.DISQUALIFIED
    assert api.post(f"/contacts/{dropped.pk}/disqualify", {"reason": "x"}).status_code == 409
    answer = api.post(f"/contacts/{returned.pk}/hand-back", {"reason": "Not my area"})
    assert answer.json() == {"contact_id": returned.pk, "owner_id": None, "assignment_id": None}
    assert Contact.objects.get(pk=returned.pk).owner_id is None
    assert api.post(f"/contacts/{returned.pk}/hand-back", {"reason": "x"}).status_code == 409


def test_bad_snooze_input_names_each_field(api, owned, sam):
    contact = owned("hot")
    answer = api.post(f"/contacts/{contact.pk}/snooze", {"user_id": sam.pk, "until": "soon"})
    assert answer.status_code == 422
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    answer = api.post(f"/contacts/{contact.pk}/snooze", {"user_id": sam.pk, "until": past})
    assert [e["field"] for e in answer.json()["errors"]] == ["until"]
    answer = api.post(f"/contacts/{contact.pk}/disqualify", {"reason": ""})
    assert [e["field"] for e in answer.json()["errors"]] == ["reason"]
    assert not LeadSnooze.objects.exists()
