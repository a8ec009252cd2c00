"""A lead source with a fixed owner gives that member its new leads and emails them each
lead; the member opens the lead from the email even when someone else owns it."""

import json
import re

import pytest
from django.test import Client

from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.inbound import tasks
from leadflow.inbound.models import Delivery, LeadNotification
from tests.capture.test_notifications import run_worker, smtp, text_of  # noqa: F401
from tests.inbound.conftest import leadflow_headers, post

pytestmark = pytest.mark.django_db(transaction=True)  # the worker runs what was committed

MAPPING = {"fields": {"email": "email", "name": "full_name"}, "lead_id": "id"}


@pytest.fixture
def seller(make_member):
    return make_member("sales", "sam@acme-widgets.com").user


def _send(source, lead_id: str, email: str):
    body = json.dumps({"id": lead_id, "email": email, "name": "Kim Lee"}).encode()
    return post(source, body, leadflow_headers(body, source.secret))


def _link(message) -> str:
    return re.search(r"Open the contact: (\S+)", text_of(message)).group(1)


def test_a_lead_source_with_a_fixed_owner_notifies_that_owner_who_opens_every_lead(
    smtp,  # noqa: F811
    workspace,
    make_source,
    seller,
    owner,
):
    source = make_source("generic", mapping=MAPPING, default_owner_id=seller.pk)
    # A lead known already, owned by the workspace owner, keeps its owner.
    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "known@kite-labs.io", "owner_id": owner.pk},
    )
    assert _send(source, "L-1", "kim@kite-labs.io").status_code == 201
    assert _send(source, "L-2", "known@kite-labs.io").status_code == 201
    assert _send(source, "L-1", "kim@kite-labs.io").status_code == 200  # a retry: no email
    assert smtp.messages == []  # sent by the worker, after the commit
    run_worker()

    kim = Contact.objects.get(email="kim@kite-labs.io")
    known = Contact.objects.get(email="known@kite-labs.io")
    assert kim.owner == seller and known.owner == owner
    messages = smtp.to(seller.email)
    assert len(messages) == 2
    assert {m["Subject"] for m in messages} == {
        f"New lead from {source.name}: Kim Lee",
        f"New lead from {source.name}: {known}",
    }
    sam = Client()
    sam.force_login(seller)
    for message in messages:
        assert "Email: " in text_of(message)
        assert sam.get(_link(message).removeprefix("http://testserver")).status_code == 200
    contacts_page = sam.get(f"/w/{workspace.slug}/contacts/").content.decode()
    assert "known@kite-labs.io" in contacts_page

    # Safe to run twice: a retried task sends nothing more.
    tasks.delivery_notify.enqueue(Delivery.objects.get(external_lead_id="L-1").pk, "")
    run_worker()
    assert len(smtp.to(seller.email)) == 2
    assert LeadNotification.objects.count() == 2


def test_a_lead_source_without_a_fixed_owner_emails_nobody(
    smtp,  # noqa: F811
    make_source,
):
    source = make_source("generic", mapping=MAPPING)
    assert _send(source, "L-1", "kim@kite-labs.io").status_code == 201
    run_worker()
    assert smtp.messages == []


def test_an_owner_who_left_the_workspace_is_neither_given_leads_nor_emailed(
    smtp,  # noqa: F811
    workspace,
    make_source,
    seller,
):
    from leadflow.core.models import Membership

    source = make_source("generic", mapping=MAPPING, default_owner_id=seller.pk)
    Membership.objects.filter(workspace=workspace, user=seller).delete()
    assert _send(source, "L-1", "kim@kite-labs.io").status_code == 201
    run_worker()
    assert Contact.objects.get().owner is None
    assert smtp.messages == []
