"""Typed writers: each kind's payload has one shape, the one its kind registers."""

import pytest

from leadflow.contacts import kind_writers as w
from leadflow.contacts.activity_kinds import ACTIVITY_KINDS

EXAMPLES = [
    ("contact.created", w.contact_created_data(tags=["webinar"])),
    ("form.submitted", w.form_submitted_data(form="Contact us", values={"a": 1}, form_id=1)),
    (
        "form.submitted",
        w.form_submitted_data(
            form="Ads", values={}, lead_source_id=2, lead_id="x", delivery_id=3, test_lead=True
        ),
    ),
    ("stage.changed", w.stage_changed_data(before="lead", after="mql", reason="form X")),
    ("stage.changed", w.stage_changed_data(before="sql", after="lead", direction="backward")),
    ("stage.changed", w.stage_changed_data(before="lead", after="sql", bulk=True)),
    ("owner.changed", w.owner_changed_data(before=None, after=4, bulk=True)),
    ("consent.changed", w.consent_changed_data(before="unknown", after="granted")),
    ("tag.added", w.tag_data(tag="vip", bulk=True)),
    ("tag.removed", w.tag_data(tag="vip")),
    ("note.added", w.note_added_data(body="Call back", import_job=9)),
    ("contact.updated", w.contact_updated_data(changes={"city": [None, "Oslo"]})),
    (
        "contact.updated",
        w.contact_updated_data(changes={}, tag_changes={"tags_added": ["a"], "tags_removed": []}),
    ),
]


@pytest.mark.parametrize(("kind", "data"), EXAMPLES)
def test_a_writer_writes_only_the_fields_its_kind_registers(kind, data):
    registered = ACTIVITY_KINDS[kind].payload_fields
    assert registered, f"{kind} registers no payload fields"
    assert set(data) <= set(registered), set(data) - set(registered)
