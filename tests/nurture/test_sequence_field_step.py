"""A "Set a field" step: one field set on every contact standing on it (a descriptive
field or a custom field that does not identify a person), checked as an edit of one
contact is, with one UPDATE and a ``contact.updated`` for each contact whose value changed;
the same action is the contacts' bulk ``set_field``; the flow editor builds it."""

import pytest

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert, contacts_bulk_action
from leadflow.contacts.services.custom_fields import custom_field_create
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed
from leadflow.nurture.models import Enrollment, Sequence
from leadflow.nurture.services.sequence_runner import sequences_run
from leadflow.nurture.services.sequences import (
    sequence_create,
    sequence_enroll,
    sequence_status_set,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fields(workspace, owner_actor):
    custom_field_create(
        workspace=workspace,
        data={"key": "seats", "label": "Seats", "field_type": "number", "min_value": 1},
        actor=owner_actor,
    )
    custom_field_create(
        workspace=workspace,
        data={"key": "plan", "label": "Plan", "field_type": "choice", "choices": ["pro", "team"]},
        actor=owner_actor,
    )
    custom_field_create(
        workspace=workspace,
        data={
            "key": "vat_id",
            "label": "VAT id",
            "field_type": "text",
            "identifying": True,
            "match_type": "exact",
        },
        actor=owner_actor,
    )


def add(workspace, **data):
    return contact_upsert(workspace=workspace, actor=Actor.system(), data=data).contact


def updates(contact):
    return [
        activity.data["changes"]
        for activity in Activity.objects.filter(contact=contact, kind="contact.updated").order_by(
            "pk"
        )
    ]


def test_the_bulk_action_sets_a_field_once_and_records_only_real_changes(
    workspace, owner_actor, fields
):
    ann = add(workspace, email="ann@example.net", city="Leeds", custom_fields={"plan": "pro"})
    bob = add(workspace, email="bob@example.net", city="York")
    ids = [ann.pk, bob.pk]

    touched = contacts_bulk_action(
        workspace=workspace,
        contact_ids=ids,
        action="set_field",
        value={"field": "city", "value": " York "},
        actor=owner_actor,
    )
    assert touched == 1  # Bob lived in York already
    assert updates(ann) == [{"city": ["Leeds", "York"]}]
    assert updates(bob) == []

    # A custom number given as text is stored as a number; the other keys stay.
    contacts_bulk_action(
        workspace=workspace,
        contact_ids=ids,
        action="set_field",
        value={"field": "custom_fields.seats", "value": "12"},
        actor=owner_actor,
    )
    assert Contact.objects.get(pk=ann.pk).custom_fields == {"plan": "pro", "seats": 12}
    assert Contact.objects.get(pk=bob.pk).custom_fields == {"seats": 12}
    # An empty value clears it (the key goes), on both contacts in one statement.
    contacts_bulk_action(
        workspace=workspace,
        contact_ids=ids,
        action="set_field",
        value={"field": "custom_fields.seats", "value": ""},
        actor=owner_actor,
    )
    assert Contact.objects.get(pk=ann.pk).custom_fields == {"plan": "pro"}
    assert Contact.objects.get(pk=bob.pk).custom_fields == {}
    assert updates(bob)[-1] == {"custom_fields.seats": [12, None]}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"field": "email", "value": "x@example.net"}, "value.field"),
        ({"field": "custom_fields.vat_id", "value": "GB1"}, "value.field"),
        ({"field": "custom_fields.nope", "value": "1"}, "value.field"),
        ({"field": "custom_fields.seats", "value": "0"}, "value.value"),
        ({"field": "custom_fields.plan", "value": "free"}, "value.value"),
        ({"field": "country", "value": "Narnia"}, "value.value"),
        ({"field": "job_title", "value": "x" * 151}, "value.value"),
        ("city", "value.field"),
    ],
)
def test_what_cannot_be_set_is_refused_by_name_and_nothing_changes(
    workspace, owner_actor, fields, value, field
):
    ann = add(workspace, email="ann@example.net", custom_fields={"plan": "pro"})
    with pytest.raises(ValidationFailed) as refused:
        contacts_bulk_action(
            workspace=workspace,
            contact_ids=[ann.pk],
            action="set_field",
            value=value,
            actor=owner_actor,
        )
    assert [error.field for error in refused.value.errors] == [field]
    assert Contact.objects.get(pk=ann.pk).custom_fields == {"plan": "pro"}
    assert updates(ann) == []


def test_a_sequence_step_sets_the_field_for_everyone_standing_on_it(workspace, owner_actor, fields):
    sequence = sequence_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "Trial to team",
            "steps": [
                {"id": 1, "type": "field", "field": "custom_fields.plan", "value": "team"},
            ],
        },
    )
    sequence_status_set(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, status="active"
    )
    contacts = [add(workspace, email=f"p{n}@example.net") for n in range(3)]
    sequence_enroll(
        workspace=workspace,
        actor=owner_actor,
        sequence_id=sequence.pk,
        contact_ids=[contact.pk for contact in contacts],
    )
    sequences_run()
    assert {c.custom_fields.get("plan") for c in Contact.objects.filter(workspace=workspace)} == {
        "team"
    }
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"completed"}

    with pytest.raises(ValidationFailed) as refused:
        sequence_create(
            workspace=workspace,
            actor=owner_actor,
            values={
                "name": "Bad",
                "steps": [{"id": 1, "type": "field", "field": "custom_fields.plan", "value": 3}],
            },
        )
    assert [error.field for error in refused.value.errors] == ["steps[0].value"]


def test_the_flow_editor_builds_a_field_step(workspace, owner_actor, fields, client_for):
    marketer = client_for("marketer")
    sequence = sequence_create(workspace=workspace, actor=owner_actor, values={"name": "Flow"})
    new = f"/w/{workspace.slug}/sequences/{sequence.pk}/steps/new/"
    form = marketer.get(new + "?type=field").content.decode()
    assert 'value="custom_fields.seats"' in form
    assert "custom_fields.vat_id" not in form  # identifying: not offered
    bad = marketer.post(
        new, {"type": "field", "link": "next", "field": "custom_fields.seats", "value": "-2"}
    )
    assert bad.status_code == 422
    assert "Must be at least 1." in bad.content.decode()
    good = marketer.post(
        new, {"type": "field", "link": "next", "field": "custom_fields.seats", "value": "5"}
    )
    assert good.status_code == 302
    (step,) = Sequence.objects.get(pk=sequence.pk).steps
    assert (step["type"], step["field"], step["value"]) == ("field", "custom_fields.seats", 5)
    flow = marketer.get(f"/w/{workspace.slug}/sequences/{sequence.pk}/").content.decode()
    assert "Set a field" in flow and "seats = 5" in flow
