"""A form can give the leads it creates an owner (a fixed member, until routing exists): the
owner gets new leads (a known contact keeps its owner), is told about them when the form
notifies the contact's owner, and must be a member of the workspace."""

import json
import re

import pytest
from django.test import Client

from leadflow.capture import services
from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.models import Membership
from tests.capture.conftest import PublicClient
from tests.capture.test_notifications import run_worker, smtp, text_of  # noqa: F401


@pytest.fixture
def seller(make_member):
    return make_member("sales", "sam@acme-widgets.com").user


@pytest.fixture
def form(workspace, owner_actor):
    fields = [
        {"name": "email", "type": "email", "required": True, "maps_to": "email"},
        {"name": "first_name", "type": "text", "maps_to": "first_name"},
    ]
    return services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Contact us", "fields": fields, "min_fill_seconds": 0},
    )


def _link(message) -> str:
    return re.search(r"Open the contact: (\S+)", text_of(message)).group(1)


@pytest.mark.django_db(transaction=True)
def test_a_form_gives_its_new_leads_to_its_owner_who_is_notified(
    smtp,  # noqa: F811
    workspace,
    form,
    seller,
    owner,
    api_key_for,
):
    api = api_key_for(workspace, ["forms:write", "forms:read"])
    changed = api.patch(f"/forms/{form.pk}", {"default_owner_id": seller.pk, "notify_owner": True})
    assert changed.status_code == 200 and changed.json()["default_owner_id"] == seller.pk
    # A known contact keeps its owner; a new one is Sam's.
    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "kept@initech.com", "owner_id": owner.pk},
    )
    public = PublicClient(form)
    assert public.submit({"email": "new@initech.com", "first_name": "Nia"}).status_code == 201
    assert public.submit({"email": "kept@initech.com"}).status_code == 201
    run_worker()

    assert Contact.objects.get(email="new@initech.com").owner == seller
    assert Contact.objects.get(email="kept@initech.com").owner == owner
    assert [_link(m).rsplit("/", 2)[-2] for m in smtp.to(seller.email)] == [
        str(Contact.objects.get(email="new@initech.com").pk)
    ]
    assert len(smtp.to(owner.email)) == 1  # the known contact's owner


def test_a_form_owner_must_be_a_member_and_one_who_left_owns_nothing_new(
    workspace, other_workspace, form, seller, owner_actor, api_key_for
):
    stranger = Membership.objects.get(workspace=other_workspace).user
    api = api_key_for(workspace, ["forms:write"])
    refused = api.patch(f"/forms/{form.pk}", {"default_owner_id": stranger.pk})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "default_owner_id"

    services.form_update(
        workspace=workspace,
        form_id=form.pk,
        data={"default_owner_id": seller.pk},
        actor=owner_actor,
    )
    Membership.objects.filter(workspace=workspace, user=seller).delete()
    assert PublicClient(form).submit({"email": "late@initech.com"}).status_code == 201
    assert Contact.objects.get(email="late@initech.com").owner is None


def test_the_builder_sets_the_owner_of_new_leads(workspace, form, seller, owner):
    client = Client()
    client.force_login(owner)
    page = client.get(f"/w/{workspace.slug}/forms/{form.pk}/").content.decode()
    assert 'name="default_owner_id"' in page
    saved = client.post(
        f"/w/{workspace.slug}/forms/{form.pk}/",
        {
            "name": form.name,
            "fields": json.dumps(form.fields),
            "success_message": "Thanks",
            "status": "active",
            "min_fill_seconds": "0",
            "default_owner_id": str(seller.pk),
        },
    )
    assert saved.status_code == 302
    form.refresh_from_db()
    assert form.default_owner == seller
