"""`leadflow inbound replay`: one delivery or every rejected one, through the current
mapping; idempotent; unverified only with --force; one-line errors."""

import json

from leadflow.cli import main
from leadflow.contacts.models import Contact
from leadflow.inbound.models import Delivery, DeliveryStatus
from tests.inbound.conftest import leadflow_headers, meta_headers, post, sample_bytes


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _rejected_pair(source):
    for number in (1, 2):
        body = json.dumps({"id": f"c{number}", "person": {"email": f"c{number}@kite-labs.io"}})
        post(source, body.encode(), leadflow_headers(body.encode(), source.secret))


def test_replay_rejected_after_fixing_the_mapping(capsys, workspace, make_source):
    source = make_source("generic", mapping={"fields": {"email": "email"}, "lead_id": "id"})
    _rejected_pair(source)
    assert Delivery.objects.filter(status=DeliveryStatus.REJECTED).count() == 2
    source.mapping = {"fields": {"person.email": "email"}, "lead_id": "id"}
    source.save()
    status, out, _ = run(capsys, "inbound", "replay", "--workspace", workspace.slug, "--rejected")
    assert status == 0
    assert out.strip() == "Replayed 2 deliveries: 2 accepted."
    assert Contact.objects.count() == 2
    status, out, _ = run(capsys, "inbound", "replay", "--workspace", workspace.slug, "--rejected")
    assert out.strip() == "Replayed 0 deliveries: none were rejected."
    assert Contact.objects.count() == 2


def test_replay_one_delivery_reports_what_is_still_wrong(capsys, workspace, make_source):
    source = make_source("generic", mapping={"fields": {"email": "email"}, "lead_id": "id"})
    _rejected_pair(source)
    delivery = Delivery.objects.order_by("id").first()
    status, out, _ = run(
        capsys,
        "inbound",
        "replay",
        "--workspace",
        workspace.slug,
        "--source",
        str(source.pk),
        "--delivery",
        str(delivery.pk),
    )
    assert status == 1
    assert f"Delivery {delivery.pk}: rejected." in out
    assert "email: No email or phone number" in out
    delivery.refresh_from_db()
    assert delivery.replay_count == 1


def test_unverified_delivery_needs_force(capsys, workspace, make_source):
    source = make_source("facebook")
    body = sample_bytes("facebook_lead")
    post(source, body, meta_headers(body, "wrong"))
    capsys.readouterr()  # the endpoint's own log line, not the command's output
    delivery = Delivery.objects.get()
    arguments = ("inbound", "replay", "--workspace", workspace.slug, "--delivery", str(delivery.pk))
    status, _, err = run(capsys, *arguments)
    assert status == 1 and "not verified" in err and err.endswith("\n") and err.count("\n") == 1
    assert not Contact.objects.exists()
    status, out, _ = run(capsys, *arguments, "--force")
    assert status == 0 and "accepted" in out
    assert Contact.objects.count() == 1


def test_usage_and_scoping_errors(capsys, workspace, other_workspace, make_source):
    status, _, err = run(capsys, "inbound", "replay", "--workspace", workspace.slug)
    assert status == 2 and "--delivery" in err
    source = make_source("google")
    status, _, err = run(
        capsys,
        "inbound",
        "replay",
        "--workspace",
        other_workspace.slug,
        "--rejected",
        "--source",
        str(source.pk),
    )
    assert status == 1 and "No such lead source" in err
    status, _, err = run(capsys, "inbound", "replay", "--workspace", "nope", "--delivery", "1")
    assert status == 1 and "nope" in err
