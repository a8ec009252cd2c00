"""Settings → Consent purposes: the defaults and the workspace's own with how many contacts
have a ledger row for each; an admin adds one and renames its label (the key stays, a
default keeps its name), each refusal names its field with 422; only owners and admins;
CSRF; another workspace's purpose is not found."""

import pytest
from django.test import Client

from leadflow.contacts.models import ConsentPurpose
from leadflow.contacts.services import consent_given_clean, consent_record, contact_upsert
from leadflow.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def _url(workspace, path=""):
    return f"/w/{workspace.slug}/settings/consent/{path}"


@pytest.fixture
def admin(workspace, make_member):
    client = Client()
    client.force_login(make_member("admin").user)
    return client


def test_an_admin_adds_and_renames_a_purpose_and_sees_who_has_a_record(
    workspace, admin, owner_actor
):
    added = admin.post(_url(workspace), {"key": "events", "label": "Event invitations"})
    assert added.status_code == 302
    ann = contact_upsert(workspace=workspace, data={"email": "ann@example.org"}, actor=owner_actor)
    given = consent_given_clean(workspace, {"purpose": "events", "status": "granted"}, source="api")
    consent_record(workspace=workspace, contact=ann.contact, given=given, actor=owner_actor)

    page = admin.get(_url(workspace)).content.decode()
    assert 'aria-current="page">Consent purposes</a>' in page
    assert "<code>events</code>" in page and 'value="Event invitations"' in page
    assert 'Newsletter <span class="badge">default</span>' in page
    row = page[page.index("<code>events</code>") :]
    assert '<td class="right">1</td>' in row[: row.index("</tr>")]

    renamed = admin.post(_url(workspace, "events/rename/"), {"label": "Meetups and webinars"})
    assert renamed.status_code == 302
    purpose = ConsentPurpose.objects.get(workspace=workspace)
    assert (purpose.key, purpose.label) == ("events", "Meetups and webinars")
    entry = AuditEntry.objects.get(action="consent_purpose.renamed")
    assert entry.changes == {"label": ["Event invitations", "Meetups and webinars"]}


@pytest.mark.parametrize(
    ("path", "data", "field_error"),
    [
        ("", {"key": "Events!", "label": "Events"}, 'id="id_key_error"'),
        ("", {"key": "newsletter", "label": "Again"}, "This workspace has this purpose already."),
        ("", {"key": "events", "label": ""}, 'id="id_label_error"'),
        ("events/rename/", {"label": "x" * 101}, 'id="label-events-error"'),
        ("newsletter/rename/", {"label": "Letters"}, "A default purpose keeps its name."),
    ],
)
def test_bad_input_is_refused_with_422_naming_the_field(
    workspace, admin, owner_actor, path, data, field_error
):
    from leadflow.contacts.services import consent_purpose_create

    consent_purpose_create(workspace=workspace, key="events", label="Events", actor=owner_actor)
    response = admin.post(_url(workspace, path), data)
    assert response.status_code == 422
    assert field_error in response.content.decode()
    assert list(ConsentPurpose.objects.values_list("key", "label")) == [("events", "Events")]


def test_only_owners_and_admins_csrf_and_other_workspaces(
    workspace, other_workspace, make_member, owner, owner_actor
):
    from leadflow.contacts.services import consent_purpose_create

    for role in ("marketer", "sales", "viewer"):
        client = Client()
        client.force_login(make_member(role).user)
        assert client.get(_url(workspace)).status_code == 403
        assert client.post(_url(workspace), {"key": "events", "label": "E"}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.get(_url(workspace)).status_code == 200
    assert strict.post(_url(workspace), {"key": "events", "label": "E"}).status_code == 403
    assert not ConsentPurpose.objects.exists()
    # Another workspace's purpose of the same key is not this one's to rename.
    consent_purpose_create(
        workspace=other_workspace, key="events", label="Theirs", actor=owner_actor
    )
    owner_client = Client()
    owner_client.force_login(owner)
    assert (
        owner_client.post(_url(workspace, "events/rename/"), {"label": "Mine"}).status_code == 404
    )
    assert ConsentPurpose.objects.get().label == "Theirs"
