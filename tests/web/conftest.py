"""Fixtures for the app pages: logged-in clients per role and a few contacts."""

import pytest
from django.test import Client

from leadflow.contacts import services
from leadflow.core.actors import Actor
from leadflow.core.models import Membership
from tests.capture.conftest import lead_form  # noqa: F401 - the forms pages' fixture


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def client_for(make_member):
    """A logged-in client for a new member with the given role, and that member."""

    def make(role: str, email: str | None = None) -> tuple[Client, Membership]:
        membership = make_member(role, email)
        client = Client()
        client.force_login(membership.user)
        return client, membership

    return make


@pytest.fixture
def make_contact(workspace, owner_actor):
    def make(**data):
        data.setdefault("email", f"{data.get('first_name', 'someone').lower()}@example.org")
        return services.contact_upsert(workspace=workspace, data=data, actor=owner_actor).contact

    return make


@pytest.fixture
def contact(make_contact):
    return make_contact(
        first_name="Ann", last_name="Lee", email="ann@lee-corp.com", job_title="Buyer", tags=["vip"]
    )


@pytest.fixture
def other_contact(other_workspace):
    owner = Membership.objects.get(workspace=other_workspace).user
    actor = Actor.for_user(owner)
    return services.contact_upsert(
        workspace=other_workspace,
        data={"email": "zed@other-co.com", "first_name": "Zed", "company": "Other Co"},
        actor=actor,
    ).contact


def url(workspace, path: str = "") -> str:
    return f"/w/{workspace.slug}/{path}"
