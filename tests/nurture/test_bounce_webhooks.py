"""Providers' bounce and complaint webhooks (Amazon SES through SNS, Postmark, SendGrid,
Mailgun) posted through the Django test client in each provider's own payload shape (as
their and django-anymail's documentation shows them): recorded on the workspace the
signed URL names, matched by our Message-ID where the payload carries it, else the
address; another workspace's or a revoked token answers 404 and writes nothing; a payload
that cannot be read answers 400, never 500; a retried post records nothing twice."""

import hashlib
import hmac
import json

import pytest

from leadflow.contacts.models import Activity
from leadflow.core.secrets import secret_name_base
from leadflow.nurture.bounce_kinds import EMAIL_BOUNCED, EMAIL_COMPLAINED
from leadflow.nurture.models import (
    MAILGUN_KEY_ENV_PREFIX,
    Bounce,
    Delivery,
    SoftBounceRun,
    Suppression,
)
from leadflow.nurture.services import sending
from leadflow.nurture.services.bounce_settings import (
    bounce_settings_save,
    webhook_path,
    webhook_token_rotate,
)
from tests.nurture import sending_kit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(workspace):
    controller, _ = sending_kit.smtp_server()
    try:
        message = sending_kit.message_make(workspace, port=controller.port)
        ids = sending_kit.contacts_make(workspace, 2)
        sending.message_send(message=message, contact_ids=ids)
        sending.message_deliver_run(message_pk=message.pk)
    finally:
        controller.stop()
    return list(Delivery.objects.filter(message=message).order_by("id"))


def nothing_written():
    return not (
        Bounce.objects.exists()
        or Suppression.objects.exists()
        or Activity.objects.filter(kind__in=[EMAIL_BOUNCED, EMAIL_COMPLAINED]).exists()
    )


# --- Amazon SES (SNS notifications) ---------------------------------------------------------


def ses_post(client, path, ses_event: dict, sns_id="6a1b7a0a-97b6-5d9a-a8ec-7f5e1b2c3d4e"):
    body = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ses-events",
        "Message": json.dumps(ses_event),
        "Timestamp": "2026-12-06T10:00:05.123Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLElDMXvB8r9R83tGoNn0ecwd5UjllzsvSvbItzfaMpN2nk5HVSw7XnOn",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }
    return client.post(
        path,
        json.dumps(body),
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
        HTTP_X_AMZ_SNS_MESSAGE_ID=sns_id,
    )


def ses_mail(delivery):
    return {
        "timestamp": "2026-12-06T10:00:00.000Z",
        "source": "news@acme-widgets.com",
        "sendingAccountId": "123456789012",
        "messageId": "0102018c2f1e9d3b-8e1a6c2e-2b5f-4f4c-9a67-3f1c8d0e1a2b-000000",
        "destination": [delivery.address],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "Acme News <news@acme-widgets.com>"},
            {"name": "To", "value": delivery.address},
            {"name": "Message-ID", "value": delivery.header_message_id},
        ],
        "commonHeaders": {
            "from": ["Acme News <news@acme-widgets.com>"],
            "to": [delivery.address],
            "messageId": delivery.header_message_id,
            "subject": "Hi",
        },
    }


def ses_bounce(delivery, bounce_type="Permanent", status="5.1.1"):
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": delivery.address,
                    "action": "failed",
                    "status": status,
                    "diagnosticCode": f"smtp; 550 {status} user unknown",
                }
            ],
            "timestamp": "2026-12-06T10:00:04.000Z",
            "feedbackId": "0102018c2f1ea0b1-5e3c-4a57-8a2a-1d3c5e7f9a0b-000000",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        },
        "mail": ses_mail(delivery),
    }


def test_an_ses_hard_bounce_is_matched_by_our_message_id_and_suppresses(client, workspace, sent):
    delivery = sent[1]
    response = ses_post(client, webhook_path(workspace, "amazon_ses"), ses_bounce(delivery))

    assert response.status_code == 200, response.content
    assert response.json() == {"events": 1, "recorded": 1}
    bounce = Bounce.objects.get()
    assert (bounce.kind, bounce.delivery_id, bounce.source) == (
        "hard",
        delivery.pk,
        "webhook:amazon_ses",
    )
    assert bounce.status_code == "5.1.1"
    assert Suppression.objects.get(workspace=workspace).reason == "hard_bounce"
    assert Delivery.objects.get(pk=delivery.pk).bounce == "hard"
    assert Activity.objects.filter(contact_id=delivery.contact_id, kind=EMAIL_BOUNCED).count() == 1


def test_the_same_post_retried_by_the_provider_is_recorded_once(client, workspace, sent):
    path = webhook_path(workspace, "amazon_ses")
    for _ in range(2):
        assert ses_post(client, path, ses_bounce(sent[0])).status_code == 200
    assert Bounce.objects.count() == 1
    assert Activity.objects.filter(kind=EMAIL_BOUNCED).count() == 1


def test_an_ses_transient_bounce_is_soft_and_a_complaint_suppresses(client, workspace, sent):
    path = webhook_path(workspace, "amazon_ses")
    ses_post(client, path, ses_bounce(sent[0], "Transient", "4.2.2"), sns_id="a-1")
    complaint = {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": sent[1].address}],
            "timestamp": "2026-12-06T10:05:00.000Z",
            "feedbackId": "0102018c2f1f-complaint",
            "complaintFeedbackType": "abuse",
        },
        "mail": ses_mail(sent[1]),
    }
    ses_post(client, path, complaint, sns_id="a-2")

    kinds = dict(Bounce.objects.values_list("delivery_id", "kind"))
    assert kinds == {sent[0].pk: "soft", sent[1].pk: "complaint"}
    assert list(Suppression.objects.values_list("reason", flat=True)) == ["complaint"]
    assert SoftBounceRun.objects.get().count == 1


# --- Postmark ---------------------------------------------------------------------------


def test_a_postmark_hard_bounce_is_matched_by_address_and_a_delivery_resets_soft_bounces(
    client, workspace, sent
):
    path = webhook_path(workspace, "postmark")
    delivery = sent[0]
    soft = {
        "RecordType": "Bounce", "ID": 4323372036854775801, "Type": "SoftBounce", "TypeCode": 4096,
        "Name": "Soft bounce", "Tag": "", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ServerID": 23, "Description": "The server could not temporarily deliver your message",
        "Details": "smtp;452 4.2.2 mailbox full", "Email": delivery.address,
        "From": "news@acme-widgets.com", "BouncedAt": "2026-12-06T10:00:00Z",
        "DumpAvailable": False, "Inactive": False, "CanActivate": True, "Subject": "Hi",
    }  # fmt: skip
    assert client.post(path, soft, content_type="application/json").status_code == 200
    assert SoftBounceRun.objects.get().count == 1
    delivered = {
        "RecordType": "Delivery", "ServerID": 23, "MessageStream": "broadcast",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79484", "Recipient": delivery.address,
        "Tag": "", "DeliveredAt": "2026-12-06T11:00:00Z",
        "Details": "Test delivery webhook details", "Metadata": {},
    }  # fmt: skip
    assert client.post(path, delivered, content_type="application/json").status_code == 200
    assert SoftBounceRun.objects.get().count == 0

    hard = {**soft, "ID": 4323372036854775802, "Type": "HardBounce", "TypeCode": 1,
            "Details": "smtp;550 5.1.1 The email account does not exist."}  # fmt: skip
    assert client.post(path, hard, content_type="application/json").status_code == 200
    bounce = Bounce.objects.get(kind="hard")
    assert bounce.delivery_id == delivery.pk and bounce.suppressed


# --- SendGrid ----------------------------------------------------------------------------


def test_a_sendgrid_batch_records_each_event(client, workspace, sent):
    events = [
        {
            "email": sent[0].address, "timestamp": 1765015205, "event": "bounce",
            "smtp-id": sent[0].header_message_id, "sg_event_id": "sg-bounce-1",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "reason": "550 5.1.1 unknown recipient", "status": "5.1.1", "type": "bounce",
        },
        {
            "email": sent[1].address, "timestamp": 1765015206, "event": "spamreport",
            "smtp-id": sent[1].header_message_id, "sg_event_id": "sg-spam-1",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.1",
        },
        {
            "email": sent[1].address, "timestamp": 1765015207, "event": "open",
            "sg_event_id": "sg-open-1", "useragent": "Mozilla/5.0",
        },
    ]  # fmt: skip
    response = client.post(
        webhook_path(workspace, "sendgrid"), events, content_type="application/json"
    )

    assert response.status_code == 200 and response.json() == {"events": 3, "recorded": 2}
    kinds = dict(Bounce.objects.values_list("delivery_id", "kind"))
    assert kinds == {sent[0].pk: "hard", sent[1].pk: "complaint"}


# --- Mailgun -----------------------------------------------------------------------------


def mailgun_body(delivery, key: str, severity="permanent"):
    token, timestamp = "c9b3f5b9a8e04e6bb1a0b8d5f1e2c3d4a5b6c7d8e9f0a1b2c3", "1765015205"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": {
            "event": "failed", "severity": severity, "reason": "bounce",
            "id": "G9Bn5sL1TQaZnBKXqZlP6w", "timestamp": 1765015205.0,
            "recipient": delivery.address, "log-level": "error",
            "message": {"headers": {
                "to": delivery.address, "from": "news@acme-widgets.com", "subject": "Hi",
                "message-id": delivery.header_message_id.strip("<>"),
            }},
            "delivery-status": {
                "code": 550, "description": "", "attempt-no": 1,
                "message": "5.1.1 The email account that you tried to reach does not exist.",
            },
            "user-variables": {}, "tags": [],
        },
    }  # fmt: skip


def test_mailgun_posts_are_checked_with_the_workspaces_signing_key(
    client, workspace, owner_actor, sent, monkeypatch
):
    key_env = secret_name_base(workspace.pk, MAILGUN_KEY_ENV_PREFIX) + "_ACME"
    monkeypatch.setenv(key_env, "key-right")
    bounce_settings_save(
        workspace=workspace,
        actor=owner_actor,
        data={"mailgun_key_env": key_env},
    )
    path = webhook_path(workspace, "mailgun")

    forged = client.post(path, mailgun_body(sent[0], "key-wrong"), content_type="application/json")
    assert forged.status_code == 400 and nothing_written()

    good = client.post(path, mailgun_body(sent[0], "key-right"), content_type="application/json")
    assert good.status_code == 200, good.content
    assert Bounce.objects.get().delivery_id == sent[0].pk


# --- authentication ----------------------------------------------------------------------


def test_another_workspaces_provider_or_a_revoked_token_answers_404_and_writes_nothing(
    client, workspace, other_workspace, owner_actor, sent
):
    event = ses_bounce(sent[0])
    theirs = webhook_path(other_workspace, "amazon_ses")
    mine = webhook_path(workspace, "amazon_ses")
    token = mine.rstrip("/").rsplit("/", 1)[1]
    forged = mine.replace(token, f"{other_workspace.pk}-{token.split('-', 1)[1]}")
    other_provider = webhook_path(workspace, "postmark").replace("/postmark/", "/amazon_ses/")
    for path in (forged, other_provider, mine.replace("amazon_ses", "sparkpost"), mine[:-5] + "/"):
        assert ses_post(client, path, event).status_code == 404, path
    assert nothing_written()

    # Posted to the other workspace's own URL: recorded there, never on this workspace.
    assert ses_post(client, theirs, event).status_code == 200
    assert Bounce.objects.get().workspace_id == other_workspace.pk
    assert not Suppression.objects.filter(workspace=workspace).exists()
    assert Delivery.objects.get(pk=sent[0].pk).bounce == ""

    webhook_token_rotate(workspace=workspace, actor=owner_actor)
    assert ses_post(client, mine, event, sns_id="x-2").status_code == 404
    assert ses_post(client, webhook_path(workspace, "amazon_ses"), event).status_code == 200


def test_a_bounce_event_naming_no_address_is_answered_and_changes_nothing(client, workspace):
    path = webhook_path(workspace, "postmark")
    response = client.post(path, {"RecordType": "Bounce"}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"events": 1, "recorded": 0}
    assert nothing_written()


def test_a_get_is_refused_and_a_head_answers(client, workspace):
    path = webhook_path(workspace, "postmark")
    assert client.get(path).status_code == 405
    assert client.head(path).status_code == 200


SES_HALF = '{"eventType": "Bounce"}'  # a bounce without its bounce object


@pytest.mark.parametrize(
    ("provider", "body", "headers"),
    [
        ("postmark", "not json", {}),
        ("postmark", "[1, 2]", {}),
        ("postmark", '{"FromFull": {"Email": "kim@initech.com"}, "MessageID": "x"}', {}),
        ("sendgrid", '{"event": "bounce"}', {}),
        ("sendgrid", '[{"email": "x@example.org"}]', {}),
        ("sendgrid", "[" * 5000 + "]" * 5000, {}),
        ("mailgun", '{"event-data": {"event": "failed"}}', {}),
        ("amazon_ses", '{"Type": "Notification"}', {}),
        (
            "amazon_ses",
            '{"Type": "Notification", "MessageId": "m", "Message": "not json"}',
            {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "m"},
        ),
        (
            "amazon_ses",
            json.dumps({"Type": "Notification", "MessageId": "m", "Message": SES_HALF}),
            {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "m"},
        ),
        ("postmark", b"\xff\xfe\x00", {}),
    ],
)
def test_a_payload_that_cannot_be_read_answers_400_and_writes_nothing(
    client, workspace, provider, body, headers
):
    response = client.post(
        webhook_path(workspace, provider), body, content_type="application/json", **headers
    )
    assert response.status_code == 400, response.content
    assert nothing_written()


def test_a_bounce_reported_by_the_mailbox_and_by_the_provider_counts_once(client, workspace, sent):
    from leadflow.nurture.services.bounce_reports import report_parse
    from leadflow.nurture.services.bounces import bounce_record
    from tests.nurture.bounce_kit import report

    (found,) = report_parse(
        report("hard.eml", address=sent[0].address, message_id=sent[0].header_message_id,
               bounce_id="dsn-1")
    ).reports  # fmt: skip
    bounce_record(
        workspace=workspace, kind=found.kind, source="mailbox", key="dsn-1",
        address=found.address, message_ids=found.message_ids, status=found.status,
    )  # fmt: skip
    response = ses_post(client, webhook_path(workspace, "amazon_ses"), ses_bounce(sent[0]))

    assert response.json() == {"events": 1, "recorded": 0}
    assert Bounce.objects.get().source == "mailbox"
    assert Activity.objects.filter(kind=EMAIL_BOUNCED).count() == 1
