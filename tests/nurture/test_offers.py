"""Personal offers: a code per person (made, or taken from a pool, race-safe), chosen from
the person's interests, redeemed once as a conversion; the API keeps to its workspace."""

import datetime as dt
import threading
import uuid

import pytest
from django.db import connection

from leadflow.capture.models import Submission
from leadflow.capture.services import form_create
from leadflow.contacts.models import Activity, Contact, Tag
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, NotFound, ValidationFailed
from leadflow.nurture.models import OfferCode
from leadflow.nurture.offer_kinds import OFFER_ISSUED, OFFER_REDEEMED
from leadflow.nurture.services.offers import (
    ALPHABET,
    offer_codes_add,
    offer_create,
    offer_issue,
    offer_redeem,
    offers_choose,
)
from leadflow.tracking.models import Event, EventType

NOW = dt.datetime(2026, 6, 3, 12, 0, tzinfo=dt.UTC)
SYSTEM = Actor.system("tests")


def person(workspace, name: str) -> Contact:
    return Contact.objects.create(workspace=workspace, email=f"{name}@example.com", first_name=name)


def make(workspace, **data):
    return offer_create(workspace=workspace, actor=SYSTEM, data={"name": "Offer", **data})


@pytest.mark.django_db
def test_a_generated_code_is_made_once_per_person_and_expires_as_set(workspace):
    offer = make(workspace, prefix="welcome-", valid_days=14, ends_at=NOW + dt.timedelta(days=7))
    ann = person(workspace, "ann")
    code = offer_issue(offer=offer, contact=ann, now=NOW, actor=SYSTEM)
    assert code.code.startswith("WELCOME-") and len(code.code) == len("WELCOME-") + 8
    assert set(code.code.removeprefix("WELCOME-")) <= set(ALPHABET)
    assert code.expires_at == NOW + dt.timedelta(days=7)  # the offer ends before 14 days
    again = offer_issue(offer=offer, contact=ann, now=NOW + dt.timedelta(hours=1), actor=SYSTEM)
    assert again.pk == code.pk
    issued = Activity.objects.filter(contact=ann, kind=OFFER_ISSUED)
    assert [row.data["code"] for row in issued] == [code.code]


@pytest.mark.django_db
def test_a_pool_gives_its_codes_in_turn_and_then_runs_out(workspace):
    offer = make(workspace, kind="pool")
    with pytest.raises(ValidationFailed) as caught:
        offer_codes_add(
            workspace=workspace, offer_id=offer.pk, actor=SYSTEM, codes=["OK1", "no way"]
        )
    assert caught.value.errors[0].field == "codes"
    added, skipped = offer_codes_add(
        workspace=workspace, offer_id=offer.pk, actor=SYSTEM, codes=["A1", "A2", "A1", " "]
    )
    assert (added, skipped) == (2, 1)
    people = [person(workspace, name) for name in ("ann", "bob", "cy")]
    codes = [offer_issue(offer=offer, contact=one, now=NOW, actor=SYSTEM) for one in people]
    assert [code.code if code else None for code in codes] == ["A1", "A2", None]
    generated = make(workspace)
    with pytest.raises(ValidationFailed):
        offer_codes_add(workspace=workspace, offer_id=generated.pk, actor=SYSTEM, codes=["B1"])


@pytest.mark.django_db(transaction=True)
def test_people_served_at_once_from_a_pool_each_get_a_different_code(workspace):
    offer = make(workspace, kind="pool")
    offer_codes_add(
        workspace=workspace, offer_id=offer.pk, actor=SYSTEM, codes=[f"C{n}" for n in range(10)]
    )
    people = [person(workspace, f"p{n}") for n in range(16)]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def serve(mine):
        try:
            start.wait()
            for one in mine:
                offer_issue(offer=offer, contact=one, now=NOW, actor=SYSTEM)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=serve, args=(people[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    given = list(
        OfferCode.objects.filter(offer=offer, contact__isnull=False).values_list(
            "contact_id", "code"
        )
    )
    assert len(given) == 10
    assert len({contact for contact, _ in given}) == 10 and len({code for _, code in given}) == 10


@pytest.mark.django_db
def test_the_offer_chosen_follows_the_persons_interests(workspace, owner_actor):
    general = make(workspace, name="Ten percent off")
    webinar = make(workspace, name="Webinar seat", interests=["Webinar"])
    pricing = make(workspace, name="Pro trial", interests=["pricing", "pro"], priority=5)
    tagged, visitor, answered, nobody = (
        person(workspace, name) for name in ("tagged", "visitor", "answered", "nobody")
    )
    tagged.tags.add(Tag.objects.create(workspace=workspace, name="webinar"))
    Event.objects.create(
        workspace=workspace,
        event_id=uuid.uuid4(),
        contact_id=visitor.pk,
        event_type=EventType.PAGEVIEW,
        url="https://acme.example/Pricing",
        occurred_at=NOW - dt.timedelta(days=2),
    )
    Event.objects.create(  # too long ago to count
        workspace=workspace,
        event_id=uuid.uuid4(),
        contact_id=nobody.pk,
        event_type=EventType.PAGEVIEW,
        url="https://acme.example/webinar",
        occurred_at=NOW - dt.timedelta(days=200),
    )
    form = form_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "name": "Contact us",
            "fields": [{"name": "email", "type": "email", "maps_to": "email", "required": True}],
        },
    )
    Submission.objects.create(
        workspace=workspace,
        form=form,
        status="accepted",
        contact=answered,
        values={"topic": "Webinar next week?"},
    )
    chosen = offers_choose(
        workspace_id=workspace.pk,
        contact_ids=[tagged.pk, visitor.pk, answered.pk, nobody.pk],
        now=NOW,
    )
    assert chosen == {
        tagged.pk: webinar,
        visitor.pk: pricing,
        answered.pk: webinar,
        nobody.pk: general,
    }
    # an offer outside its period, or switched off, is not offered
    webinar.ends_at = NOW
    webinar.save()
    pricing.active = False
    pricing.save()
    again = offers_choose(workspace_id=workspace.pk, contact_ids=[tagged.pk, visitor.pk], now=NOW)
    assert again == {tagged.pk: general, visitor.pk: general}


@pytest.mark.django_db
def test_a_code_is_redeemed_once_as_a_conversion(workspace, other_workspace):
    offer = make(workspace, valid_days=1)
    ann = person(workspace, "ann")
    code = offer_issue(offer=offer, contact=ann, now=NOW, actor=SYSTEM)
    used = offer_redeem(
        workspace=workspace, code=code.code.lower(), reference="order 1", now=NOW, actor=SYSTEM
    )
    assert used.redeemed_at == NOW
    assert (
        offer_redeem(
            workspace=workspace, code=code.code, reference="order 1", now=NOW, actor=SYSTEM
        ).pk
        == code.pk
    )
    with pytest.raises(Conflict):
        offer_redeem(
            workspace=workspace, code=code.code, reference="order 2", now=NOW, actor=SYSTEM
        )
    assert Activity.objects.filter(contact=ann, kind=OFFER_REDEEMED).count() == 1
    with pytest.raises(NotFound):  # another workspace's code
        offer_redeem(workspace=other_workspace, code=code.code, reference="", now=NOW, actor=SYSTEM)
    bob = person(workspace, "bob")
    late = offer_issue(offer=offer, contact=bob, now=NOW, actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        offer_redeem(
            workspace=workspace,
            code=late.code,
            reference="",
            now=NOW + dt.timedelta(days=2),
            actor=SYSTEM,
        )


@pytest.mark.django_db
def test_the_offers_api_keeps_to_its_workspace_and_names_bad_fields(api, other_api, workspace):
    made = api.post("/nurture/offers", {"name": "Spring", "kind": "pool", "interests": ["Garden"]})
    assert made.status_code == 201, made.json()
    offer_id = made.json()["id"]
    assert made.json()["interests"] == ["garden"]
    bad = api.post("/nurture/offers", {"name": "", "kind": "coupon", "priority": 500, "extra": 1})
    assert bad.status_code == 422
    bad = api.post("/nurture/offers", {"name": "", "kind": "coupon", "priority": 500})
    assert {error["field"] for error in bad.json()["errors"]} == {"name", "kind", "priority"}
    assert api.post(f"/nurture/offers/{offer_id}/codes", {"codes": ["S1"]}).json() == {
        "added": 1,
        "skipped": 0,
    }
    ann = person(workspace, "ann")
    given = api.post(f"/nurture/offers/{offer_id}/issue", {"contact_id": ann.pk})
    assert given.status_code == 200 and given.json()["code"] == "S1"
    bob = person(workspace, "bob")
    assert api.post(f"/nurture/offers/{offer_id}/issue", {"contact_id": bob.pk}).status_code == 409
    redeemed = api.post("/nurture/redemptions", {"code": "S1", "reference": "A-1"})
    assert redeemed.status_code == 200 and redeemed.json()["contact_id"] == ann.pk
    assert api.post("/nurture/redemptions", {"code": "NOPE"}).status_code == 404
    # the other workspace sees none of it
    assert other_api.get(f"/nurture/offers/{offer_id}").status_code == 404
    assert other_api.patch(f"/nurture/offers/{offer_id}", {"name": "Mine"}).status_code == 404
    assert other_api.post(f"/nurture/offers/{offer_id}/codes", {"codes": ["X"]}).status_code == 404
    assert other_api.post("/nurture/redemptions", {"code": "S1"}).status_code == 404
    assert other_api.post(f"/contacts/{ann.pk}/offer").status_code == 404
    assert other_api.get("/nurture/offers").json() == []
    # the best offer for a person
    api.post("/nurture/offers", {"name": "For anyone"})
    best = api.post(f"/contacts/{bob.pk}/offer")
    assert best.status_code == 200 and best.json()["offer"] == "For anyone"
