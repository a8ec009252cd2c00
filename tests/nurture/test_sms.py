"""Text messages from a sequence, through a real local HTTP receiver that speaks the
Twilio-compatible API: the SMS step texts each contact once (a step run twice queues once),
personalised, with Basic auth; no mobile number, no consent for the sms purpose or no
provider skips with the
reason; a provider error fails the delivery; a provider that is down leaves it queued for
a later run; the pacing cap counts texts with emails; bad settings name each field."""

import base64

import pytest

from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed
from leadflow.core.secrets import secret_name_base
from leadflow.nurture.models import PacingSettings, SmsDelivery
from leadflow.nurture.models.sms import TOKEN_ENV_PREFIX
from leadflow.nurture.services.sequence_runner import sequences_run
from leadflow.nurture.services.sequences import (
    sequence_create,
    sequence_enroll,
)
from leadflow.nurture.services.sms import sms_send_run, sms_settings_save
from tests.nurture.sms_kit import Receiver, person, setup, token_env

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sms_step_texts_each_contact_once(sms_provider, workspace, owner_actor):
    sequence = setup(workspace, owner_actor, sms_provider.server_port)
    ann = person(workspace, "ann@example.net", "+1 415 555 0134")
    no_phone = person(workspace, "np@example.net")
    no_consent = person(workspace, "nc@example.net", "+1 415 555 0135", consent="withdrawn")
    # Marketing email consent is not consent to texts (the workspace requires the sms purpose).
    email_only = person(workspace, "eo@example.net", "+1 415 555 0137", sms="unknown")
    ids = [ann.pk, no_phone.pk, no_consent.pk, email_only.pk]
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=ids
    )
    sequences_run()
    sequences_run()  # nothing more to move
    assert SmsDelivery.objects.count() == 4
    outcome = sms_send_run()
    assert outcome == {"sent": 1, "skipped": 3}
    (text,) = Receiver.received
    assert text["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert (text["From"], text["To"], text["Body"]) == (
        "+14155550100",
        "+14155550134",
        "Hi Ann, 20% off today",
    )
    assert base64.b64decode(text["auth"].split()[1]).decode() == "AC123:secret-token"
    reasons = dict(SmsDelivery.objects.values_list("contact_id", "reason"))
    assert reasons[no_phone.pk] == "No mobile number."
    assert reasons[no_consent.pk] == "No consent for sms messages (consent: withdrawn)."
    assert reasons[email_only.pk] == "No consent for sms messages (consent: unknown)."
    assert SmsDelivery.objects.get(contact=ann).provider_id == "SM0001"
    assert sms_send_run() == {}  # nothing is sent twice


def test_a_provider_error_fails_and_a_provider_down_retries_later(
    sms_provider, workspace, owner_actor
):
    sequence = setup(workspace, owner_actor, sms_provider.server_port)
    ann = person(workspace, "ann@example.net", "+1 415 555 0134")
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[ann.pk]
    )
    sequences_run()
    Receiver.answer = 400
    assert sms_send_run() == {"failed": 1}
    assert SmsDelivery.objects.get().reason.startswith("Provider answered 400")

    bob = person(workspace, "bob@example.net", "+1 415 555 0136", first_name="Bob")
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[bob.pk]
    )
    sequences_run()
    sms_provider.shutdown()
    sms_provider.server_close()
    assert sms_send_run() == {"retry": 1}
    assert SmsDelivery.objects.get(contact=bob).status == "queued"


def test_the_providers_opt_out_error_suppresses_the_number(sms_provider, workspace, owner_actor):
    """Twilio answers 21610 to a number that texted STOP to Twilio itself (which then no
    longer forwards it): the number is suppressed as if it had texted LeadFlow, and the
    same error in a delivery receipt does the same."""
    from leadflow.nurture.models import SmsSuppression
    from leadflow.nurture.services.sms_inbound import sms_receipt_record

    sequence = setup(workspace, owner_actor, sms_provider.server_port)
    ann = person(workspace, "ann@example.net", "+1 415 555 0134")
    bob = person(workspace, "bob@example.net", "+1 415 555 0136", first_name="Bob")
    Receiver.answer = 400
    Receiver.refusal = {"code": 21211, "message": "Invalid 'To' Phone Number"}
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[bob.pk]
    )
    sequences_run()
    assert sms_send_run() == {"failed": 1}
    assert not SmsSuppression.objects.exists()  # any other refusal suppresses nothing
    Receiver.refusal = {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[ann.pk]
    )
    sequences_run()
    assert sms_send_run() == {"failed": 1}
    (suppressed,) = SmsSuppression.objects.all()
    assert (suppressed.number, suppressed.keyword) == ("+14155550134", "error 21610")

    # A receipt with the error: Bob's number, sent before, joins it.
    delivery = SmsDelivery.objects.get(contact=bob)
    SmsDelivery.objects.filter(pk=delivery.pk).update(provider_id="SMb1", status="sent")
    sms_receipt_record(
        workspace=workspace, message_sid="SMb1", status="undelivered", error_code="30005"
    )
    assert SmsSuppression.objects.count() == 1
    sms_receipt_record(workspace=workspace, message_sid="SMb1", status="failed", error_code="21610")
    assert set(SmsSuppression.objects.values_list("number", flat=True)) == {
        "+14155550134",
        "+14155550136",
    }


def test_texts_count_against_the_cap_with_emails(sms_provider, workspace, owner_actor):
    sequence = setup(workspace, owner_actor, sms_provider.server_port)
    PacingSettings.objects.filter(workspace=workspace).update(cap_messages=1, cap_days=7)
    from django.utils import timezone

    from leadflow.nurture.services.pacing import pacing_claim

    ann = person(workspace, "ann@example.net", "+1 415 555 0134")
    pacing_claim(workspace_id=workspace.pk, wanted={ann.pk: "email:earlier"}, now=timezone.now())
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[ann.pk]
    )
    sequences_run()
    assert sms_send_run() == {"held": 1}
    held = SmsDelivery.objects.get()
    assert held.status == "queued" and held.reason.startswith("Held: capped")
    assert Receiver.received == []


def test_bad_settings_and_texts_are_refused_naming_each_field(workspace, owner_actor):
    with pytest.raises(ValidationFailed) as failed:
        sms_settings_save(
            workspace=workspace,
            data={
                "api_base": "http://gateway.example.com",
                "account_sid": "AC 1",
                "from_number": "12",
                "token_env": "DATABASE_URL",
            },
        )
    assert {e.field for e in failed.value.errors} == {
        "api_base",
        "account_sid",
        "from_number",
        "token_env",
    }
    with pytest.raises(ValidationFailed) as failed:
        sequence_create(
            workspace=workspace,
            actor=Actor.system(),
            values={"name": "Bad", "steps": [{"id": 1, "type": "sms", "text": "{% if %}"}]},
        )
    assert failed.value.errors[0].field == "steps[0].text"


def test_the_settings_page_and_the_api_set_the_provider(workspace, client_for, api, api_key_for):
    admin = client_for("admin")
    page = admin.get(f"/w/{workspace.slug}/settings/sms/")
    assert page.status_code == 200 and "Token not set" in page.content.decode()
    bad = admin.post(f"/w/{workspace.slug}/settings/sms/", {"account_sid": "", "token_env": "X"})
    assert bad.status_code == 422
    base = secret_name_base(workspace.pk, TOKEN_ENV_PREFIX)
    assert f"Name an environment variable {base} or {base}_…" in bad.content.decode()
    saved = admin.post(
        f"/w/{workspace.slug}/settings/sms/",
        {
            "api_base": "https://api.twilio.com",
            "account_sid": "AC9",
            "from_number": "+44 7911 123456",
            "token_env": token_env(workspace),
        },
    )
    assert saved.status_code == 302
    assert client_for("sales").post(f"/w/{workspace.slug}/settings/sms/", {}).status_code == 403
    body = api.get("/nurture/sms-settings").json()
    assert (body["from_number"], body["token_set"]) == ("+447911123456", False)
    reader = api_key_for(workspace, scopes=["contacts:read"])
    whole = {
        "account_sid": "AC1",
        "from_number": "+14155550100",
        "token_env": token_env(workspace),
    }
    assert reader.put("/nurture/sms-settings", whole).status_code == 403
    assert api.get("/nurture/sms").json() == []
