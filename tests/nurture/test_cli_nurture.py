"""`leadflow nurture ...` run in-process against the test database and a real SMTP server
(aiosmtpd): the commands go through the nurture services (the same refusals as the API),
find the workspace by slug, print lists as tables or JSON, and fail with one line and a
non-zero status."""

import json

import pytest

from leadflow.cli import main
from leadflow.nurture.models import Broadcast, Delivery, Enrollment
from leadflow.nurture.services.broadcasts import broadcast_create
from leadflow.nurture.services.segments import segment_create, segment_members_add
from leadflow.nurture.services.sequences import sequence_create, sequence_status_set
from tests.nurture import sending_kit
from tests.nurture.test_broadcasts import clicks

pytestmark = pytest.mark.django_db

SLUG = "acme-widgets"


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(status, err, *fragments, code=1):
    assert status == code, err
    assert "Traceback" not in err
    # aiosmtpd's own log lines (mail.log) go to stderr too: the command's are the others.
    lines = [line for line in err.strip().splitlines() if " mail.log " not in line]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def smtp():
    controller, inbox = sending_kit.smtp_server()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def people(workspace, owner_actor):
    """Six contacts with marketing consent, the first four in a static segment."""
    ids = sending_kit.contacts_make(workspace, 6)
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "Trial", "kind": "static"}
    )
    segment_members_add(
        workspace=workspace, segment=segment, contact_ids=ids[:4], actor=owner_actor
    )
    return ids, segment


def test_sequences_are_listed_enrolled_shown_paused_and_removed(
    capsys, workspace, other_workspace, owner_actor, people, smtp
):
    ids, segment = people
    message = sending_kit.message_make(workspace, port=smtp[0].port)
    sequence = sequence_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "Welcome",
            "steps": [
                {"id": 1, "type": "email", "message_id": message.pk, "next": 2},
                {"id": 2, "type": "wait", "seconds": 86400, "next": None},
            ],
        },
    )
    # A draft enrols no one: the service's refusal, on one line.
    status, _, err = run(
        capsys, "nurture", "sequences", "enrol", str(sequence.pk), "--workspace", SLUG,
        "--contact", str(ids[0]),
    )  # fmt: skip
    one_line_error(status, err, "sequence: Activate the sequence first.")
    status, out, err = run(
        capsys, "nurture", "sequences", "resume", str(sequence.pk), "--workspace", SLUG
    )
    assert status == 0, err
    assert "is active" in out

    # An unknown address names the field and enrols no one.
    status, _, err = run(
        capsys, "nurture", "sequences", "enrol", str(sequence.pk), "--workspace", SLUG,
        "--email", "nobody@example.net", "--contact", str(ids[5]),
    )  # fmt: skip
    one_line_error(status, err, "email: No contact has the address nobody@example.net")
    assert not Enrollment.objects.exists()

    status, out, err = run(
        capsys, "nurture", "sequences", "enrol", str(sequence.pk), "--workspace", SLUG,
        "--segment", str(segment.pk), "--email", "PERSON5@example.net", "--contact", str(ids[0]),
    )  # fmt: skip
    assert status == 0, err
    assert "Enrolled 5 of 5 contacts" in out
    status, out, _ = run(
        capsys, "nurture", "sequences", "enrol", str(sequence.pk), "--workspace", SLUG,
        "--contact", str(ids[0]),
    )  # fmt: skip
    assert "Enrolled 0 of 1 contacts" in out and "in it already" in out

    # The runner, once: the email step sends to the five; they wait at step 2.
    status, out, err = run(capsys, "nurture", "run", "--once")
    assert status == 0, err
    assert "5 sent" in out
    assert len(smtp[1].messages()) == 5

    status, out, _ = run(capsys, "nurture", "sequences", "list", "--workspace", SLUG, "--json")
    assert json.loads(out) == [
        {"id": sequence.pk, "name": "Welcome", "status": "active", "enrolled": 5, "active": 5,
         "converted": 0}
    ]  # fmt: skip
    status, out, _ = run(
        capsys, "nurture", "sequences", "show", str(sequence.pk), "--workspace", SLUG, "--json"
    )
    shown = json.loads(out)
    assert [(s["id"], s["waiting"], s["passed"]) for s in shown["steps"]] == [(1, 0, 5), (2, 5, 0)]
    status, out, _ = run(
        capsys, "nurture", "sequences", "show", str(sequence.pk), "--workspace", SLUG
    )
    assert "wait 86400 s" in out and "Enrolled: 5 (5 active)" in out

    enrollment = Enrollment.objects.get(contact_id=ids[0])
    status, out, err = run(
        capsys, "nurture", "sequences", "remove", str(enrollment.pk), "--workspace", SLUG,
        "--reason", "asked by phone",
    )  # fmt: skip
    assert status == 0, err
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.reason) == ("removed", "asked by phone")
    status, _, err = run(
        capsys, "nurture", "sequences", "remove", str(enrollment.pk), "--workspace", SLUG
    )
    one_line_error(status, err, "no longer in the sequence")

    status, out, _ = run(
        capsys, "nurture", "sequences", "pause", str(sequence.pk), "--workspace", SLUG
    )
    assert "is paused" in out
    # Another workspace's slug does not find this one's sequence.
    status, _, err = run(
        capsys,
        "nurture",
        "sequences",
        "show",
        str(sequence.pk),
        "--workspace",
        other_workspace.slug,
    )
    one_line_error(status, err, "No such sequence.")


def test_an_ab_broadcast_is_sent_shown_with_its_figures_and_cannot_restart(
    capsys, workspace, owner_actor, people, smtp
):
    _, segment = people
    message = sending_kit.message_make(workspace, port=smtp[0].port)
    broadcast = broadcast_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "December news",
            "segment_id": segment.pk,
            "ab_test": True,
            "test_percent": 50,
            "variants": [
                {"template_id": message.template_id, "identity_id": message.identity_id},
                {"template_id": message.template_id, "identity_id": message.identity_id,
                 "subject": "Last days"},
            ],
        },
    )  # fmt: skip
    status, out, _ = run(capsys, "nurture", "broadcasts", "list", "--workspace", SLUG, "--json")
    assert [(row["name"], row["status"], row["sent"]) for row in json.loads(out)] == [
        ("December news", "draft", 0)
    ]
    status, out, err = run(
        capsys, "nurture", "broadcasts", "send", str(broadcast.pk), "--workspace", SLUG
    )
    assert status == 0, err
    status, out, err = run(capsys, "nurture", "run", "--once")
    # Half of the four in the test, one per variant; the rest wait for the winner.
    assert "Broadcasts started or decided: 1." in out and "2 sent" in out
    assert len(smtp[1].messages()) == 2
    variant_b = broadcast.variants.get(label="B")
    b_people = list(
        Delivery.objects.filter(message_id=variant_b.message_id).values_list(
            "contact_id", flat=True
        )
    )
    clicks(variant_b.message_id, b_people[:1])

    status, out, _ = run(
        capsys, "nurture", "broadcasts", "show", str(broadcast.pk), "--workspace", SLUG, "--json"
    )
    shown = json.loads(out)
    assert shown["status"] == "testing"
    assert [(v["label"], v["subject"], v["test_group"], v["sent"], v["clicked"])
            for v in shown["variants"]] == [
        ("A", 'Hi {{ contact.first_name|default:"there" }}', 1, 1, 0),
        ("B", "Last days", 1, 1, 1),
    ]  # fmt: skip
    status, out, _ = run(
        capsys, "nurture", "broadcasts", "show", str(broadcast.pk), "--workspace", SLUG
    )
    assert "Winner: not decided yet" in out

    status, _, err = run(
        capsys, "nurture", "broadcasts", "schedule", str(broadcast.pk), "--workspace", SLUG,
        "--at", "2030-01-01T09:00",
    )  # fmt: skip
    one_line_error(status, err, "This broadcast has started already.")
    status, out, err = run(
        capsys, "nurture", "broadcasts", "cancel", str(broadcast.pk), "--workspace", SLUG
    )
    assert status == 0, err
    assert Broadcast.objects.get().status == "cancelled"


def test_a_draft_broadcast_is_scheduled_for_a_time_given_in_utc(
    capsys, workspace, owner_actor, people
):
    _, segment = people
    message = sending_kit.message_make(workspace, port=25)
    broadcast = broadcast_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "New year",
            "segment_id": segment.pk,
            "variants": [{"template_id": message.template_id, "identity_id": message.identity_id}],
        },
    )
    status, _, err = run(
        capsys, "nurture", "broadcasts", "schedule", str(broadcast.pk), "--workspace", SLUG,
        "--at", "2099-01-01T09:00",
    )  # fmt: skip
    assert status == 0, err
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.send_at.isoformat()) == (
        "scheduled",
        "2099-01-01T09:00:00+00:00",
    )
    status, _, err = run(
        capsys, "nurture", "broadcasts", "schedule", str(broadcast.pk), "--workspace", SLUG,
        "--at", "next tuesday",
    )  # fmt: skip
    one_line_error(status, err, "is not a date and time", code=2)


def test_unknown_deliveries_are_listed_and_resolved(
    capsys, workspace, other_workspace, owner_actor, people, smtp
):
    ids, _ = people
    message = sending_kit.message_make(workspace, port=smtp[0].port)
    step = {"id": 1, "type": "email", "message_id": message.pk, "next": None}
    sequence = sequence_create(
        workspace=workspace, actor=owner_actor, values={"name": "One email", "steps": [step]}
    )
    sequence_status_set(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, status="active"
    )
    run(
        capsys,
        "nurture",
        "sequences",
        "enrol",
        str(sequence.pk),
        "--workspace",
        SLUG,
        "--contact",
        str(ids[0]),
        "--contact",
        str(ids[1]),
    )
    run(capsys, "nurture", "run", "--once")
    # A worker died between the hand-over and the commit: both parked as unknown.
    Delivery.objects.update(status="unknown", lease_owner="")
    first, second = Delivery.objects.order_by("pk").values_list("pk", flat=True)

    status, out, _ = run(capsys, "nurture", "deliveries", "unknown", "--workspace", SLUG, "--json")
    assert [row["id"] for row in json.loads(out)] == [first, second]
    status, out, _ = run(
        capsys, "nurture", "deliveries", "unknown", "--workspace", other_workspace.slug
    )
    assert "No delivery is in the unknown state." in out
    # Another workspace cannot resolve them, and nothing changes when one id is wrong.
    status, _, err = run(
        capsys,
        "nurture",
        "deliveries",
        "resolve",
        str(first),
        "--drop",
        "--workspace",
        other_workspace.slug,
    )
    one_line_error(status, err, f"Not an unknown delivery of 'other-co': {first}.")
    status, out, err = run(
        capsys, "nurture", "deliveries", "resolve", str(first), "--drop", "--workspace", SLUG
    )
    assert (status, out.strip()) == (0, "1 deliveries dropped.")
    status, out, err = run(
        capsys, "nurture", "deliveries", "resolve", str(second), "--requeue", "--workspace", SLUG
    )
    assert status == 0, err
    run(capsys, "nurture", "run", "--once")
    assert dict(Delivery.objects.values_list("pk", "status")) == {first: "dropped", second: "sent"}
    assert len(smtp[1].messages()) == 3  # the re-queued one went again, with its Message-ID
    assert len({m["Message-ID"] for m in smtp[1].messages()}) == 2


@pytest.mark.parametrize(
    ("arguments", "fragment", "code"),
    [
        (["nurture", "run"], "the following arguments are required: --once", 2),
        (["nurture", "sequences", "show", "1" * 40, "--workspace", SLUG], "is not an id", 2),
        (["nurture", "sequences", "list", "--workspace", "nope"], "slug 'nope'", 1),
        (["nurture", "sequences", "enrol", "1", "--workspace", SLUG], "say whom to enrol", 1),
        (["nurture", "deliveries", "resolve", "1", "--workspace", SLUG], "--requeue --drop", 2),
    ],
)  # fmt: skip
def test_mistakes_are_one_line_with_the_right_status(capsys, workspace, arguments, fragment, code):
    status, _, err = run(capsys, *arguments)
    one_line_error(status, err, fragment, code=code)


def _nurture_commands():
    import argparse

    from leadflow.cli import build_parser

    def walk(parser, path):
        yield path
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*path, name])

    top = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(walk(top.choices["nurture"], ["nurture"]))


def test_every_nurture_command_has_help_and_a_bare_group_shows_it(capsys):
    commands = _nurture_commands()
    assert ["nurture", "deliveries", "resolve"] in commands and len(commands) == 18
    for command in commands:
        status, out, err = run(capsys, *command, "--help")
        assert status == 0, err
        assert out.startswith(f"usage: leadflow {' '.join(command)}")
    status, out, err = run(capsys, "nurture", "broadcasts")
    assert (status, out) == (2, "")
    assert "schedule" in err
