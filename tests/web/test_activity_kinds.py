"""The registry of activity kinds: each app registers its kinds, and the contact timeline tells
each kind through what its app registered, with no list of kinds in the renderer."""

import pytest

from leadflow.contacts.activity_kinds import (
    ACTIVITY_KINDS,
    ActivityKindDefinition,
    activity_kind_register,
)
from leadflow.contacts.models import Activity
from tests.web.test_contact_page import squash, timeline_html


@pytest.fixture
def registry():
    """Kinds registered by a test are removed afterwards."""
    before = dict(ACTIVITY_KINDS)
    yield ACTIVITY_KINDS
    ACTIVITY_KINDS.clear()
    ACTIVITY_KINDS.update(before)


def test_every_kind_written_today_is_registered_by_an_app_with_a_label():
    # contacts' own kinds, the lead arrival, and tracking's browser recognition
    for key, label in (
        ("contact.created", "Contact created"),
        ("note.added", "Note"),
        ("form.submitted", "Form submitted"),
        ("visitor.linked", "Browser recognised"),
    ):
        assert ACTIVITY_KINDS[key].label == label


def test_a_kind_registered_by_a_new_app_shows_its_own_text_on_the_timeline(
    registry, owner_client, workspace, contact
):
    def summary(text, data, names):
        text.label = f"Booked a demo for {data['day']}"
        text.details.append(f"Seats: {data['seats']}")
        return ("day", "seats")

    activity_kind_register(
        ActivityKindDefinition(
            key="demo.booked", label="Demo booked", payload_fields=("day", "seats"), summary=summary
        )
    )
    Activity.objects.create(
        workspace=workspace,
        contact=contact,
        kind="demo.booked",
        data={"day": "Tuesday", "seats": 3, "room": "<b>Blue</b>"},
    )
    html = timeline_html(owner_client, workspace, contact)
    text = squash(html)
    assert "Booked a demo for Tuesday" in text
    assert "Seats: 3" in text
    # keys the summary did not tell still show, generically and escaped
    assert "&lt;b&gt;Blue&lt;/b&gt;" in html
    assert "Day: Tuesday" not in text


def test_an_unknown_kind_shows_its_key_and_payload_as_escaped_text(
    owner_client, workspace, contact
):
    Activity.objects.create(
        workspace=workspace,
        contact=contact,
        kind="<i>x</i>.done",
        data={"note": "<script>alert(1)</script>"},
    )
    html = timeline_html(owner_client, workspace, contact)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;i&gt;x&lt;/i&gt;.done" in html


def test_a_second_app_cannot_claim_a_kind_another_app_registered(registry):
    activity_kind_register(ActivityKindDefinition(key="demo.booked", label="Demo booked"))
    activity_kind_register(ActivityKindDefinition(key="demo.booked", label="Demo booked"))
    with pytest.raises(ValueError, match=r"demo\.booked"):
        activity_kind_register(ActivityKindDefinition(key="demo.booked", label="Booked"))
