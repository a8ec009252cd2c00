"""Identity stitching: forms and identify link a browser; shared computers; merges."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from leadflow.capture.models import Submission
from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_merge, contact_upsert
from leadflow.core.actors import Actor
from leadflow.tracking.models import Event, Visitor, VisitSession
from leadflow.tracking.services import visitor_link
from tests.capture.conftest import PublicClient, good_fields

from .helpers import SITE, batch, event, send


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()


def visit(workspace, visitor, session, *, hours_ago, utm=None, referrer="", pages=2):
    start = int((timezone.now() - dt.timedelta(hours=hours_ago)).timestamp() * 1000)
    events = [
        event(
            url=f"{SITE}/page-{n}",
            ts=start + n * 1000,
            session={
                "landing_page": f"{SITE}/page-0",
                "referrer": referrer,
                "utm": utm or {},
                "click_ids": {},
            }
            if n == 0
            else None,
        )
        for n in range(pages)
    ]
    for item in events:
        if item.get("session") is None:
            item.pop("session", None)
    assert send(batch(workspace, events, visitor=visitor, session=session)).status_code == 202


def test_a_form_links_the_visitor_and_its_earlier_visits(workspace, lead_form):
    visit(
        workspace,
        "browser-aaaa-1",
        "session-aa-1",
        hours_ago=50,
        utm={"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"},
    )
    visit(
        workspace,
        "browser-aaaa-1",
        "session-aa-2",
        hours_ago=2,
        referrer="https://news.ycombinator.com/item?id=1",
    )
    public = PublicClient(lead_form)
    response = public.submit(
        good_fields(),
        context={
            "page_url": f"{SITE}/demo",
            "referrer": "",
            "utm": {},
            "visitor_id": "browser-aaaa-1",
        },
    )
    assert response.status_code == 201
    contact = Contact.objects.get(email="jane@initech.com")
    assert Visitor.objects.get(visitor_key="browser-aaaa-1").contact == contact
    assert VisitSession.objects.filter(contact=contact).count() == 2
    assert Event.objects.filter(contact_id=contact.pk).count() == 4
    assert (
        contact.first_touch_source,
        contact.first_touch_medium,
        contact.first_touch_channel,
    ) == ("google", "cpc", "paid_search")  # the first visit, before the form
    assert (contact.last_touch_source, contact.last_touch_channel) == (
        "news.ycombinator.com",
        "referral",
    )
    assert Activity.objects.filter(contact=contact, kind="visitor.linked").exists()
    assert Submission.objects.get().visitor_id == "browser-aaaa-1"


def test_identify_links_the_visitor_to_a_contact(workspace):
    visit(workspace, "browser-bbbb-1", "session-bb-1", hours_ago=1)
    response = send(
        batch(
            workspace,
            [event("identify", props={"email": "Known@Initech.com", "first_name": "Kim"})],
            visitor="browser-bbbb-1",
            session="session-bb-1",
        )
    )
    assert response.status_code == 202
    contact = Contact.objects.get(email="known@initech.com")
    assert contact.first_name == "Kim"
    assert Event.objects.filter(contact_id=contact.pk).count() == 3


def test_a_shared_computer_never_merges_two_people(workspace):
    visit(workspace, "shared-pc-0001", "session-sh-1", hours_ago=3)
    alice = contact_upsert(
        workspace=workspace, actor=Actor.system(), data={"email": "alice@initech.com"}
    ).contact
    bob = contact_upsert(
        workspace=workspace, actor=Actor.system(), data={"email": "bob@initech.com"}
    ).contact
    visitor = Visitor.objects.get(visitor_key="shared-pc-0001")
    visitor_link(workspace=workspace, visitor=visitor, contact=alice, reason="form")
    visit(workspace, "shared-pc-0001", "session-sh-2", hours_ago=1)  # Alice browses on
    visitor.refresh_from_db()
    visitor_link(workspace=workspace, visitor=visitor, contact=bob, reason="form")
    visit(workspace, "shared-pc-0001", "session-sh-3", hours_ago=0)  # now Bob
    assert Contact.objects.filter(pk__in=[alice.pk, bob.pk]).count() == 2  # never merged
    assert VisitSession.objects.filter(contact=alice).count() == 2  # what Alice did stays
    assert VisitSession.objects.filter(contact=bob).count() == 1
    assert Event.objects.filter(contact_id=alice.pk).count() == 4
    assert Event.objects.filter(contact_id=bob.pk).count() == 2
    linked = Activity.objects.get(contact=bob, kind="visitor.linked")
    assert linked.data["previous_contact_id"] == alice.pk


def test_merging_contacts_moves_visitors_visits_events_and_consents(
    workspace, lead_form, owner_actor
):
    from leadflow.capture.models import ConsentRecord

    visit(workspace, "merge-pc-0001", "session-mg-1", hours_ago=5)
    public = PublicClient(lead_form)
    public.submit(
        good_fields(),
        context={"page_url": SITE, "referrer": "", "utm": {}, "visitor_id": "merge-pc-0001"},
    )
    secondary = Contact.objects.get(email="jane@initech.com")
    primary = contact_upsert(
        workspace=workspace, actor=Actor.system(), data={"email": "jane.doe@gmail.com"}
    ).contact
    contact_merge(
        workspace=workspace, primary_id=primary.pk, secondary_id=secondary.pk, actor=owner_actor
    )
    assert Visitor.objects.get(visitor_key="merge-pc-0001").contact_id == primary.pk
    assert VisitSession.objects.filter(contact=primary).count() == 1
    assert Event.objects.filter(contact_id=primary.pk).count() == 2
    assert ConsentRecord.objects.filter(contact=primary).count() == 1  # proof kept
    assert Submission.objects.get().contact_id == primary.pk
    assert json.dumps(Activity.objects.filter(contact=primary, kind="form.submitted").get().data)


def test_a_browser_never_seen_before_is_created_linked(workspace, lead_form):
    response = PublicClient(lead_form).submit(
        good_fields(),
        context={
            "page_url": f"{SITE}/demo",
            "referrer": "",
            "utm": {},
            "visitor_id": "fresh-browser-01",
        },
    )
    assert response.status_code == 201
    contact = Contact.objects.get(email="jane@initech.com")
    visitor = Visitor.objects.get(visitor_key="fresh-browser-01")
    assert visitor.contact == contact and visitor.identified_at is not None
    assert not Activity.objects.filter(contact=contact, kind="visitor.linked").exists()
    # Its next visit belongs to the contact from the start.
    visit(workspace, "fresh-browser-01", "session-fr-1", hours_ago=0)
    assert VisitSession.objects.get(visitor=visitor).contact == contact


def test_a_tracked_link_identifies_the_browser_that_opens_it(workspace, other_workspace):
    from leadflow.tracking.services import contact_link_token

    visit(workspace, "mail-reader-01", "session-ml-1", hours_ago=1)
    reader = contact_upsert(
        workspace=workspace, actor=Actor.system(), data={"email": "reader@initech.com"}
    ).contact
    stranger = contact_upsert(
        workspace=other_workspace, actor=Actor.system(), data={"email": "stranger@other-co.com"}
    ).contact

    def open_link(token, browser):
        payload = batch(
            workspace,
            [event("identify", props={"token": token})],
            visitor=browser,
            session=f"s-{browser}",
        )
        assert send(payload).status_code == 202

    open_link(contact_link_token(stranger), "mail-reader-01")  # another workspace's token
    open_link(contact_link_token(reader) + "x", "mail-reader-01")  # tampered
    assert Visitor.objects.get(visitor_key="mail-reader-01").contact_id is None
    open_link(contact_link_token(reader), "mail-reader-01")
    assert Visitor.objects.get(visitor_key="mail-reader-01").contact == reader
    assert Event.objects.filter(contact_id=reader.pk).count() >= 2  # earlier visit joined
    assert Activity.objects.get(contact=reader, kind="visitor.linked").data["reason"] == "link"
