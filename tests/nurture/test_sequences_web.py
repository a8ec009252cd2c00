"""Sequences in the app: a marketer builds one (settings, then the flow step by step:
email, wait, branch and a step on each of its ways), sees the flow with its figures,
changes and removes steps, activates it, enrols contacts and takes one out; bad input is
shown on its field; readers read but do not build; another workspace's sequence is 404."""

import pytest

from leadflow.contacts.models import Contact
from leadflow.nurture.models import Enrollment, Sequence
from leadflow.nurture.services import settings as email_settings
from leadflow.nurture.services.sequence_runner import sequences_run
from leadflow.nurture.services.sequences import sequence_create


@pytest.fixture
def marketer(client_for):
    return client_for("marketer")


def url(workspace, path=""):
    return f"/w/{workspace.slug}/sequences/{path}"


def email_setup(workspace):
    identity = email_settings.identity_create(
        workspace=workspace, data={"from_name": "Acme", "from_address": "news@acme-widgets.com"}
    )
    template = email_settings.template_create(
        workspace=workspace,
        data={"name": "Welcome", "subject": "Hi", "html_body": "<p>Hello</p>"},
    )
    return identity, template


def test_a_marketer_builds_a_flow_step_by_step(workspace, marketer):
    identity, template = email_setup(workspace)
    created = marketer.post(
        url(workspace, "new/"),
        {
            "name": "Onboarding",
            "trigger_kind": "tag.added",
            "trigger_tag": "trial",
            "reentry": "never",
            "goal-field": ["lifecycle_stage"],
            "goal-operator": ["at_least"],
            "goal-value": ["customer"],
        },
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    sequence = Sequence.objects.get(workspace=workspace)
    assert sequence.trigger == {"kind": "tag.added", "tag": "trial"}
    assert sequence.goal["children"][0]["field"] == "lifecycle_stage"
    new = url(workspace, f"{sequence.pk}/steps/new/")
    # The type first, then its settings.
    assert "Send email" in marketer.get(new).content.decode()
    assert (
        marketer.post(
            new,
            {
                "type": "email",
                "link": "next",
                "template_id": template.pk,
                "identity_id": identity.pk,
            },
        ).status_code
        == 302
    )
    assert (
        marketer.post(
            new,
            {"type": "wait", "after": 1, "link": "next", "wait_amount": "2", "wait_unit": "days"},
        ).status_code
        == 302
    )
    assert (
        marketer.post(
            new,
            {
                "type": "branch",
                "after": 2,
                "link": "next",
                "conditions-field": ["country"],
                "conditions-operator": ["eq"],
                "conditions-value": ["US"],
            },
        ).status_code
        == 302
    )
    assert (
        marketer.post(
            new, {"type": "tag", "after": 3, "link": "yes", "tag": "american"}
        ).status_code
        == 302
    )
    assert (
        marketer.post(new, {"type": "stage", "after": 3, "link": "no", "stage": "lead"}).status_code
        == 302
    )
    form = marketer.get(new + "?after=5&link=next&type=followup").content.decode()
    assert "Due in (hours)" in form
    assert (
        marketer.post(
            new,
            {
                "type": "followup",
                "after": 5,
                "link": "next",
                "title": "Call them",
                "due_hours": "8",
                "followup_kind": "meeting",
            },
        ).status_code
        == 302
    )
    sequence.refresh_from_db()
    by_id = {step["id"]: step for step in sequence.steps}
    assert by_id[6] == {
        "id": 6, "type": "followup", "title": "Call them", "due_hours": 8, "kind": "meeting",
        "next": None,
    }  # fmt: skip
    assert by_id[5]["next"] == 6
    assert by_id[1]["next"] == 2 and by_id[2]["next"] == 3
    assert (by_id[3]["yes"], by_id[3]["no"]) == (4, 5)
    assert by_id[2]["seconds"] == 2 * 86400
    assert by_id[1]["message_id"]

    page = marketer.get(url(workspace, f"{sequence.pk}/")).content.decode()
    for text in (
        "Send email",
        "Welcome",
        "2 days",
        "country is US",
        "american",
        "Yes",
        "No",
    ):
        assert text in page

    # A bad wait is shown on its field, and nothing changes.
    bad = marketer.post(
        url(workspace, f"{sequence.pk}/steps/2/"), {"wait_amount": "0", "wait_unit": "days"}
    )
    assert bad.status_code == 422
    assert "1 minute to 365 days" in bad.content.decode()
    sequence.refresh_from_db()
    assert {step["id"]: step for step in sequence.steps}[2]["seconds"] == 2 * 86400
    # Removing the wait joins the email to the branch.
    marketer.post(url(workspace, f"{sequence.pk}/steps/2/delete/"))
    sequence.refresh_from_db()
    assert {step["id"]: step for step in sequence.steps}[1]["next"] == 3

    # Activate, enrol by email, see who waits where, take one out.
    marketer.post(url(workspace, f"{sequence.pk}/status/"), {"status": "active"})
    Contact.objects.bulk_create(
        [Contact(workspace=workspace, email=f"p{i}@example.com", country="US") for i in range(2)]
    )
    enrolled = marketer.post(
        url(workspace, f"{sequence.pk}/enrol/"), {"contacts": "p0@example.com, p1@example.com"}
    )
    assert enrolled.status_code == 302
    assert Enrollment.objects.filter(sequence=sequence).count() == 2
    sequences_run()
    listed = marketer.get(url(workspace, f"{sequence.pk}/enrolments/")).content.decode()
    assert "p0@example.com" in listed and "Reached the end" in listed
    overview = marketer.get(url(workspace)).content.decode()
    assert "Onboarding" in overview and "Tag added: trial" in overview


def test_bad_settings_are_shown_on_their_fields(workspace, marketer):
    response = marketer.post(
        url(workspace, "new/"), {"name": "", "trigger_kind": "segment.entered", "reentry": "x"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Give a name" in body and "Choose the segment." in body
    assert not Sequence.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "sales"])
def test_readers_read_but_do_not_build(workspace, client_for, owner_actor, role):
    sequence = sequence_create(workspace=workspace, actor=owner_actor, values={"name": "Drip"})
    client = client_for(role)
    assert client.get(url(workspace)).status_code == 200
    assert client.get(url(workspace, f"{sequence.pk}/")).status_code == 200
    assert client.post(url(workspace, "new/"), {"name": "Mine"}).status_code == 403
    assert (
        client.post(url(workspace, f"{sequence.pk}/status/"), {"status": "active"}).status_code
        == 403
    )
    assert Sequence.objects.get().status == "draft"


def test_another_workspaces_sequence_is_not_found(workspace, other_workspace, marketer):
    from leadflow.core.actors import Actor

    theirs = sequence_create(
        workspace=other_workspace,
        actor=Actor.system(),
        values={"name": "Theirs", "steps": [{"id": 1, "type": "tag", "tag": "x"}]},
    )
    for path in ("", "settings/", "steps/1/", "enrolments/", "steps/new/?type=tag"):
        assert marketer.get(url(workspace, f"{theirs.pk}/{path}")).status_code == 404, path
    assert marketer.post(url(workspace, f"{theirs.pk}/steps/1/delete/")).status_code == 404
    assert (
        marketer.post(url(workspace, f"{theirs.pk}/status/"), {"status": "active"}).status_code
        == 404
    )
    assert Sequence.objects.get(pk=theirs.pk).status == "draft"


def test_the_contact_page_shows_the_sequences_and_takes_a_contact_out(
    workspace, marketer, owner_actor
):
    from leadflow.nurture.services.sequences import sequence_enroll, sequence_status_set

    sequence = sequence_create(
        workspace=workspace,
        actor=owner_actor,
        values={"name": "Drip", "steps": [{"id": 1, "type": "wait", "seconds": 86400}]},
    )
    sequence_status_set(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, status="active"
    )
    kim = Contact.objects.create(workspace=workspace, email="kim@example.com")
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[kim.pk]
    )
    sequences_run()
    page = marketer.get(f"/w/{workspace.slug}/contacts/{kim.pk}/").content.decode()
    assert "Sequences" in page and "Drip" in page and "(wait)" in page
    enrolment = Enrollment.objects.get()
    marketer.post(url(workspace, f"{sequence.pk}/enrolments/{enrolment.pk}/remove/"))
    enrolment.refresh_from_db()
    assert enrolment.status == "removed"
    page = marketer.get(f"/w/{workspace.slug}/contacts/{kim.pk}/").content.decode()
    assert "Removed" in page


def test_checked_contacts_are_enrolled_from_the_contacts_page(workspace, marketer, owner_actor):
    from leadflow.nurture.services.sequences import sequence_status_set

    sequence = sequence_create(
        workspace=workspace,
        actor=owner_actor,
        values={"name": "Welcome", "steps": [{"id": 1, "type": "tag", "tag": "w"}]},
    )
    sequence_status_set(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, status="active"
    )
    people = Contact.objects.bulk_create(
        [Contact(workspace=workspace, email=f"b{i}@example.com") for i in range(3)]
    )
    listing = marketer.get(f"/w/{workspace.slug}/contacts/").content.decode()
    assert "bulk-sequence" in listing and "Welcome" in listing
    response = marketer.post(
        url(workspace, "enrol-selected/"),
        {"sequence": sequence.pk, "ids": [people[0].pk, people[2].pk]},
        follow=True,
    )
    assert "Enrolled 2 contacts in “Welcome”." in response.content.decode()
    assert set(Enrollment.objects.values_list("contact_id", flat=True)) == {
        people[0].pk,
        people[2].pk,
    }
