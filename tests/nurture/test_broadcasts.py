"""Broadcasts through their services, the real worker and a real SMTP server: a plain one
reaches the segment's members once; an A/B test sends each variant (its own subject) to an
equal random share, waits, picks the winner by unique clicks with a significance test and
sends it to the rest; no clear winner sends the control; cancelling skips what is queued;
bad input names each field. The z-test agrees with SciPy's normal distribution."""

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.errors import ValidationFailed
from leadflow.core.stats import two_proportion_p
from leadflow.nurture.models import (
    Broadcast,
    BroadcastMember,
    Delivery,
)
from leadflow.nurture.services.broadcasts import (
    broadcast_cancel,
    broadcast_create,
    broadcast_schedule,
    broadcast_step,
)
from leadflow.nurture.services.segments import segment_create, segment_members_add
from tests.nurture import sending_kit

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


@pytest.fixture
def smtp():
    controller, inbox = sending_kit.smtp_server()
    yield controller, inbox
    controller.stop()


def audience(workspace, owner_actor, n):
    ids = sending_kit.contacts_make(workspace, n)
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "Newsletter", "kind": "static"}
    )
    segment_members_add(workspace=workspace, segment=segment, contact_ids=ids, actor=owner_actor)
    return segment, ids


CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)


def click_in(received, addresses):
    """A person opens each of these addresses' emails and clicks its tracked link, through
    the public click endpoint (a while after the hand-over: not a scanner)."""
    from django.test import Client

    Delivery.objects.update(handed_at=timezone.now() - dt.timedelta(minutes=5))
    person = Client(headers={"User-Agent": CHROME})
    for mail in received:
        if mail["To"] in addresses:
            html = mail.get_body(preferencelist=("html",)).get_content()
            path = re.search(r'href="https?://[^/"]+(/t/c/[^"]+)"', html).group(1)
            assert person.get(path).status_code == 302


def clicks(message_id, contact_ids):
    """Counted clicks recorded as the click endpoint records them (no mail server here)."""
    from leadflow.nurture.models import EmailEngagement

    EmailEngagement.objects.bulk_create(
        [
            EmailEngagement(
                workspace_id=delivery.workspace_id,
                message_id=message_id,
                delivery_id=delivery.pk,
                contact_id=delivery.contact_id,
                kind="click",
                url="https://acme-widgets.com/spring",
            )
            for delivery in Delivery.objects.filter(
                message_id=message_id, contact_id__in=contact_ids
            )
        ]
    )


def test_a_plain_broadcast_reaches_the_segment_once(smtp, workspace, owner_actor):
    controller, inbox = smtp
    message = sending_kit.message_make(workspace, port=controller.port)
    segment, ids = audience(workspace, owner_actor, 12)
    broadcast = broadcast_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "December news",
            "segment_id": segment.pk,
            "variants": [{"template_id": message.template_id, "identity_id": message.identity_id}],
        },
    )
    broadcast_schedule(workspace=workspace, actor=owner_actor, broadcast_id=broadcast.pk)
    run_worker()
    run_worker()  # a retried start adds nothing
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.audience) == ("sending", 12)
    received = sorted(m["To"] for m in inbox.messages())
    assert received == sorted(Contact.objects.filter(pk__in=ids).values_list("email", flat=True))
    assert Delivery.objects.filter(status="sent").count() == 12


def test_an_ab_test_sends_the_winner_by_clicks_to_the_rest(smtp, workspace, owner_actor):
    controller, inbox = smtp
    message = sending_kit.message_make(workspace, port=controller.port)
    segment, _ = audience(workspace, owner_actor, 300)
    broadcast = broadcast_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "Subject test",
            "segment_id": segment.pk,
            "test_percent": 60,
            "test_hours": 2,
            "min_sample": 50,
            "variants": [
                {"template_id": message.template_id, "identity_id": message.identity_id},
                {
                    "template_id": message.template_id,
                    "identity_id": message.identity_id,
                    "subject": "Last chance, {{ contact.first_name }}",
                },
            ],
        },
    )
    broadcast_schedule(workspace=workspace, actor=owner_actor, broadcast_id=broadcast.pk)
    run_worker()
    broadcast.refresh_from_db()
    assert broadcast.status == "testing"
    groups = dict(
        (
            group,
            set(
                BroadcastMember.objects.filter(broadcast=broadcast, group=group).values_list(
                    "contact_id", flat=True
                )
            ),
        )
        for group in ("A", "B", "rest")
    )
    assert (len(groups["A"]), len(groups["B"]), len(groups["rest"])) == (90, 90, 120)
    subjects = [m["Subject"] for m in inbox.messages()]
    assert len(subjects) == 180
    assert sum(s.startswith("Last chance, Person") for s in subjects) == 90
    _, variant_b = broadcast.variants.order_by("label")
    emails = dict(Contact.objects.values_list("pk", "email"))
    click_in(
        inbox.messages(),
        {emails[pk] for pk in sorted(groups["A"])[:3]}
        | {emails[pk] for pk in sorted(groups["B"])[:25]},
    )
    # Not before the test's time is up.
    assert broadcast_step(broadcast.pk) == ""
    later = timezone.now() + dt.timedelta(hours=2, minutes=1)
    assert broadcast_step(broadcast.pk, now=later) == "decided"
    run_worker()
    broadcast.refresh_from_db()
    assert broadcast.winner_id == variant_b.pk
    assert broadcast.decision.startswith("B won on clicks")
    rest = Delivery.objects.filter(contact_id__in=groups["rest"])
    assert set(rest.values_list("message_id", flat=True)) == {variant_b.message_id}
    assert rest.filter(status="sent").count() == 120
    assert len(inbox.messages()) == 300  # everyone exactly once


def test_without_a_clear_winner_the_rest_get_the_control(workspace, owner_actor):
    message = sending_kit.message_make(workspace, port=25)
    segment, _ = audience(workspace, owner_actor, 100)
    broadcast = broadcast_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "Undecided",
            "segment_id": segment.pk,
            "test_percent": 40,
            "min_sample": 10,
            "variants": [
                {"template_id": message.template_id, "identity_id": message.identity_id},
                {
                    "template_id": message.template_id,
                    "identity_id": message.identity_id,
                    "subject": "Other",
                },
            ],
        },
    )
    broadcast_schedule(workspace=workspace, actor=owner_actor, broadcast_id=broadcast.pk)
    broadcast_step(broadcast.pk)
    variant_a, variant_b = broadcast.variants.order_by("label")
    Delivery.objects.update(status="sent")
    clicks(
        variant_b.message_id,
        list(
            Delivery.objects.filter(message_id=variant_b.message_id).values_list(
                "contact_id", flat=True
            )
        )[:3],
    )
    clicks(
        variant_a.message_id,
        list(
            Delivery.objects.filter(message_id=variant_a.message_id).values_list(
                "contact_id", flat=True
            )
        )[:2],
    )
    broadcast_step(broadcast.pk, now=timezone.now() + dt.timedelta(hours=5))
    broadcast.refresh_from_db()
    assert broadcast.winner_id == variant_a.pk
    assert "No significant difference" in broadcast.decision


def test_cancelling_a_test_skips_what_is_queued_and_sends_no_rest(workspace, owner_actor):
    message = sending_kit.message_make(workspace, port=25)
    segment, _ = audience(workspace, owner_actor, 50)
    broadcast = broadcast_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "Stopped",
            "segment_id": segment.pk,
            "variants": [
                {"template_id": message.template_id, "identity_id": message.identity_id},
                {"template_id": message.template_id, "identity_id": message.identity_id},
            ],
        },
    )
    broadcast_schedule(workspace=workspace, actor=owner_actor, broadcast_id=broadcast.pk)
    broadcast_step(broadcast.pk)
    broadcast_cancel(workspace=workspace, actor=owner_actor, broadcast_id=broadcast.pk)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"skipped"}
    assert broadcast_step(broadcast.pk, now=timezone.now() + dt.timedelta(days=1)) == ""
    assert Delivery.objects.count() == 10  # 20 % of 50, 5 per variant: no rest enqueued


def test_bad_input_names_each_field(workspace, other_workspace, owner_actor):
    foreign = sending_kit.message_make(other_workspace, port=25)
    with pytest.raises(ValidationFailed) as failed:
        broadcast_create(
            workspace=workspace,
            actor=owner_actor,
            values={
                "name": "",
                "segment_id": 999999,
                "test_percent": 95,
                "confidence": "sure",
                "variants": [
                    {"template_id": foreign.template_id, "identity_id": foreign.identity_id},
                    {"template_id": "x", "subject": "{% if %}"},
                ],
            },
        )
    fields = {error.field for error in failed.value.errors}
    assert {
        "name",
        "segment_id",
        "test_percent",
        "confidence",
        "variants[0].template_id",
        "variants[0].identity_id",
        "variants[1].template_id",
        "variants[1].subject",
    } <= fields
    assert not Broadcast.objects.exists()


def test_the_z_test_agrees_with_scipy():
    from scipy.stats import norm

    for a, n, b, m in ((3, 90, 25, 90), (10, 1000, 14, 1000), (0, 50, 0, 50), (40, 200, 20, 180)):
        pooled = (a + b) / (n + m)
        spread = (pooled * (1 - pooled) * (1 / n + 1 / m)) ** 0.5
        expected = 1.0 if spread == 0 else 2 * norm.sf(abs(a / n - b / m) / spread)
        assert two_proportion_p(a, n, b, m) == pytest.approx(expected, rel=1e-9)


def test_the_api_creates_schedules_reads_and_cancels_a_broadcast(api, other_api, workspace):
    message = sending_kit.message_make(workspace, port=25)
    ids = sending_kit.contacts_make(workspace, 30)
    segment = api.post("/segments", {"name": "All", "kind": "static"}).json()
    api.post(f"/segments/{segment['id']}/members", {"contact_ids": ids})
    variant = {"template_id": message.template_id, "identity_id": message.identity_id}
    bad = api.post(
        "/nurture/broadcasts",
        {"name": "", "segment_id": segment["id"], "variants": [variant], "test_hours": 0},
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"name", "test_hours"}
    created = api.post(
        "/nurture/broadcasts",
        {
            "name": "Weekly",
            "segment_id": segment["id"],
            "variants": [variant, {**variant, "subject": "B subject"}],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["ab_test"] and [v["label"] for v in body["variants"]] == ["A", "B"]
    assert body["variants"][1]["subject"] == "B subject"
    broadcast_id = body["id"]
    assert other_api.get(f"/nurture/broadcasts/{broadcast_id}").status_code == 404
    scheduled = api.post(f"/nurture/broadcasts/{broadcast_id}/schedule", {"send_at": None})
    assert scheduled.json()["status"] == "scheduled"
    broadcast_step(broadcast_id)
    testing = api.get(f"/nurture/broadcasts/{broadcast_id}").json()
    assert (testing["status"], testing["audience"]) == ("testing", 30)
    assert api.patch(f"/nurture/broadcasts/{broadcast_id}", {"name": "x"}).status_code == 409
    assert api.delete(f"/nurture/broadcasts/{broadcast_id}").status_code == 409
    cancelled = api.post(f"/nurture/broadcasts/{broadcast_id}/cancel")
    assert cancelled.json()["status"] == "cancelled"
