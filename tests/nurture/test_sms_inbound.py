"""Texts people send back and the provider's delivery receipts, through LeadFlow's real
webhook endpoints: posted over HTTP to a live server (as the provider would, signed with
the account's token) or through Django's test client. A wrong or missing signature
answers 403 and writes nothing; another workspace's URL or a made-up token answers 403 /
404; a retried text is stored once; STOP skips the next sequence text and START resumes
it; receipts in any order never take a delivered text back to sent; replies reach the
contact's timeline, unknown numbers are kept unmatched, and the page and the API list
them."""

from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.consent import consent_statuses
from leadflow.contacts.models import Activity, ConsentEntry
from leadflow.contacts.services import contact_delete
from leadflow.nurture.models import SmsDelivery, SmsInbound, SmsSuppression
from leadflow.nurture.services.sequence_runner import sequences_run
from leadflow.nurture.services.sequences import sequence_enroll
from leadflow.nurture.services.sms import sms_send_run, sms_settings_save
from leadflow.nurture.services.sms_inbound import (
    sms_inbound_record,
    sms_signature,
    sms_signature_valid,
    sms_webhook_urls,
)
from leadflow.nurture.sms_kinds import SMS_KEYWORD, SMS_REPLIED
from tests.nurture.sms_kit import Receiver, person, setup, signature, token_env

ANN = "+14155550134"


def test_the_signature_is_twilios():
    """The examples Twilio publishes for its request validator (token 12345)."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": ["CA1234567890ABCDE"],
        "Digits": ["1234"],
        "From": ["+14158675309"],
        "To": ["+18005551212"],
        "Caller": ["+14158675309"],
    }
    assert sms_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = {"Sid": ["CA123"], "SidAccount": ["AC123"], "Digits": ["5678", "1234"]}
    assert sms_signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="

    def valid(address: str, signature: str, token: str = "12345") -> bool:
        return sms_signature_valid(
            auth_token=token, urls=[address], params=params, signature=signature
        )

    assert valid(url, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert valid(url.replace(".com", ".com:1234"), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert valid(url, "kvajT1Ptam85bY51eRf/AJRuM3w=")  # signed with :443
    assert valid(url.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4=")  # with :80
    assert not valid(url, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", token="54321")
    assert not valid(url, "")
    assert not valid(url, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", token="")


def _post(url: str, params: dict, *, sign: str | None = None) -> requests.Response:
    headers = {"X-Twilio-Signature": signature(url, params) if sign is None else sign}
    return requests.post(url, data=params, headers=headers, timeout=10)


def _text(sid: str, body: str, sender: str = ANN) -> dict:
    return {
        "MessageSid": sid,
        "AccountSid": "AC123",
        "From": sender,
        "To": "+14155550100",
        "Body": body,
    }


def _send_one(workspace, owner_actor, port, contact, *, name: str, base_url: str) -> dict:
    sequence = setup(workspace, owner_actor, port, base_url=base_url, name=name)
    sequence_enroll(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, contact_ids=[contact.pk]
    )
    sequences_run()
    return sms_send_run()


@pytest.mark.django_db(transaction=True)
def test_receipts_only_move_forward_and_must_be_signed(
    sms_provider, live_server, workspace, owner_actor
):
    ann = person(workspace, "ann@example.net", "+1 415 555 0134")
    port = sms_provider.server_port
    assert _send_one(workspace, owner_actor, port, ann, name="A", base_url=live_server.url) == {
        "sent": 1
    }
    delivery = SmsDelivery.objects.get()
    (sent,) = Receiver.received
    callback = sent["StatusCallback"]
    assert callback == (
        f"{sms_webhook_urls(workspace.pk, live_server.url)['status']}?delivery={delivery.pk}"
    )

    def receipt(status: str, **extra) -> requests.Response:
        return _post(callback, {"MessageSid": "SM0001", "MessageStatus": status, **extra})

    assert receipt("sent").json() == {"updated": True}
    assert receipt("delivered").json() == {"updated": True}
    # Late and repeated callbacks: the text stays delivered.
    assert receipt("sent").json() == {"updated": False}
    assert receipt("queued").json() == {"updated": False}
    assert receipt("delivered").json() == {"updated": False}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.receipt) == ("sent", "delivered")

    params = {"MessageSid": "SM0001", "MessageStatus": "failed", "ErrorCode": "30003"}
    assert _post(callback, params, sign="").status_code == 403
    assert _post(callback, params, sign=signature(callback, params, "wrong")).status_code == 403
    # Signed for another address (the signature covers the URL, query included).
    other_url = callback.replace(f"delivery={delivery.pk}", "delivery=999")
    assert _post(callback, params, sign=signature(other_url, params)).status_code == 403
    bad = _post(callback, {"MessageStatus": "sent"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "MessageSid"
    delivery.refresh_from_db()
    assert delivery.receipt == "delivered"

    # Before the provider's answer is saved, the receipt finds the text by its id; out of
    # order, "undelivered" first, then a late "sent" changes nothing.
    bob = person(workspace, "bob@example.net", "+1 415 555 0136", first_name="Bob")
    SmsDelivery.objects.create(
        workspace=workspace,
        sequence_id=delivery.sequence_id,
        step=1,
        contact=bob,
        text="Hi",
        status="in_flight",
    )
    bobs = SmsDelivery.objects.get(contact=bob)
    url = sms_webhook_urls(workspace.pk, live_server.url)["status"] + f"?delivery={bobs.pk}"
    undelivered = {"MessageSid": "SM9", "MessageStatus": "undelivered", "ErrorCode": "30005"}
    assert _post(url, undelivered).json() == {"updated": True}
    assert _post(url, {"MessageSid": "SM9", "MessageStatus": "sent"}).json() == {"updated": False}
    bobs.refresh_from_db()
    assert (bobs.receipt, bobs.receipt_error, bobs.provider_id) == ("undelivered", "30005", "SM9")


@pytest.mark.django_db(transaction=True)
def test_stop_skips_the_next_text_and_start_resumes_it(
    sms_provider, live_server, workspace, owner_actor
):
    ann = person(workspace, "ann@example.net", ANN)
    also_ann = person(workspace, "ann@work.example.net", ANN, first_name="Ann")
    port, base = sms_provider.server_port, live_server.url
    inbound = sms_webhook_urls(workspace.pk, base)["inbound"]
    setup(workspace, owner_actor, port, base_url=base, name="A")

    answer = _post(inbound, _text("SMstop1", "  Stop "))
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/xml")
    assert _post(inbound, _text("SMstop1", "  Stop ")).status_code == 200  # the retry
    assert SmsInbound.objects.get().action == "stop"
    assert list(SmsSuppression.objects.values_list("number", "keyword")) == [(ANN, "STOP")]
    # Both contacts with the number lost their sms consent, once each.
    assert consent_statuses(workspace.pk, [ann.pk, also_ann.pk], "sms") == {
        ann.pk: "withdrawn",
        also_ann.pk: "withdrawn",
    }
    stops = ConsentEntry.objects.filter(purpose="sms", source="sms_keyword")
    assert stops.count() == 2
    assert Activity.objects.filter(kind=SMS_KEYWORD).count() == 2

    # A member grants sms consent again by hand: the suppression still stops the text.
    from leadflow.contacts.services import ConsentGiven, consent_record

    consent_record(
        workspace=workspace,
        contact=ann,
        given=ConsentGiven(purpose="sms", status="granted", source="manual"),
        actor=owner_actor,
    )
    assert _send_one(workspace, owner_actor, port, ann, name="B", base_url=base) == {"skipped": 1}
    assert SmsDelivery.objects.get().reason == (
        "The number texted STOP: no texts until it texts START."
    )
    # The suppression outlives the contacts.
    contact_delete(workspace=workspace, contact_id=also_ann.pk, actor=owner_actor)
    assert SmsSuppression.objects.filter(number=ANN).exists()

    assert _post(inbound, _text("SMstart1", "start")).status_code == 200
    assert not SmsSuppression.objects.exists()
    assert consent_statuses(workspace.pk, [ann.pk], "sms") == {ann.pk: "granted"}
    assert _send_one(workspace, owner_actor, port, ann, name="C", base_url=base) == {"sent": 1}
    assert [r["To"] for r in Receiver.received] == [ANN]

    # A wrong or missing signature writes nothing.
    params = _text("SMforged", "STOP")
    assert _post(inbound, params, sign="").status_code == 403
    assert _post(inbound, params, sign=signature(inbound, params, "guess")).status_code == 403
    assert not SmsInbound.objects.filter(message_sid="SMforged").exists()
    assert not SmsSuppression.objects.exists()


@pytest.mark.django_db
def test_replies_reach_the_timeline_and_unknown_numbers_stay_unmatched(
    workspace, other_workspace, owner_actor, client_for, api, monkeypatch, settings
):
    monkeypatch.setenv(token_env(workspace), "secret-token")
    monkeypatch.setenv(token_env(other_workspace), "secret-token")
    provider = {
        "api_base": "https://api.twilio.com",
        "account_sid": "AC123",
        "from_number": "+14155550100",
        "token_env": token_env(workspace),
    }
    sms_settings_save(workspace=workspace, data=provider)
    # Written as people type it (not as entry points store it): found all the same.
    ann = person(workspace, "ann@example.net", "+1 (415) 555-0134")
    # The same number in another workspace is never matched from this one.
    person(other_workspace, "ann@other.example.net", ANN)
    urls = sms_webhook_urls(workspace.pk, "http://testserver/")
    client = client_for("viewer")

    def post(url: str, params: dict, sign: str | None = None):
        path = urlsplit(url).path
        made = signature(url, params) if sign is None else sign
        return client.post(path, params, headers={"X-Twilio-Signature": made})

    reply = _text("SMr1", "Sounds good, call me <b>Friday</b>")
    assert post(urls["inbound"], reply).status_code == 200
    assert post(urls["inbound"], reply).status_code == 200
    stranger = _text("SMr2", "who is this?", sender="+14155550199")
    assert post(urls["inbound"], stranger).status_code == 200
    (replied,) = Activity.objects.filter(kind=SMS_REPLIED)
    assert (replied.contact_id, replied.data["body"]) == (ann.pk, reply["Body"])
    unmatched = SmsInbound.objects.get(message_sid="SMr2")
    assert (unmatched.contact_id, unmatched.action) == (None, "reply")
    assert SmsInbound.objects.count() == 2

    # Bad input names the field; another account's post, another workspace's URL and a
    # made-up token write nothing.
    bad = post(urls["inbound"], {"MessageSid": "SMr3", "Body": "hi"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "From"
    assert post(urls["inbound"], {**_text("SMr4", "hi"), "AccountSid": "AC999"}).status_code == 403
    theirs = sms_webhook_urls(other_workspace.pk, "http://testserver/")["inbound"]
    assert post(theirs, _text("SMr5", "STOP")).status_code == 403  # no token to check with
    sms_settings_save(
        workspace=other_workspace, data={**provider, "token_env": token_env(other_workspace)}
    )
    signed_here = signature(urls["inbound"], _text("SMr5", "STOP"))
    assert post(theirs, _text("SMr5", "STOP"), sign=signed_here).status_code == 403
    made_up = urls["inbound"].replace(f"/{workspace.pk}-", f"/{other_workspace.pk}-")
    assert post(made_up, _text("SMr6", "STOP")).status_code == 404
    assert client.get(urlsplit(urls["inbound"]).path).status_code == 405
    # Behind a proxy the provider signs the public address LEADFLOW_BASE_URL names.
    settings.LEADFLOW_BASE_URL = "https://leads.example.com"
    public = sms_webhook_urls(workspace.pk, "http://testserver/")["inbound"]
    assert public.startswith("https://leads.example.com/hooks/sms/")
    assert post(public, _text("SMr7", "HELP")).status_code == 200
    assert SmsInbound.objects.get(message_sid="SMr7").action == "help"
    settings.LEADFLOW_BASE_URL = ""
    assert SmsInbound.objects.count() == 3 and not SmsSuppression.objects.exists()

    # The settings page shows the addresses and the texts (escaped); the API lists them;
    # the contact's timeline tells the reply.
    page = client.get(f"/w/{workspace.slug}/settings/sms/").content.decode()
    assert urls["inbound"] in page and urls["status"] in page
    assert "No matching contact" in page and "&lt;b&gt;Friday&lt;/b&gt;" in page
    listed = api.get("/nurture/sms/inbound").json()
    assert [row["message_sid"] for row in listed] == ["SMr7", "SMr2", "SMr1"]
    assert listed[2]["contact_id"] == ann.pk
    assert [r["message_sid"] for r in api.get("/nurture/sms/inbound?unmatched=true").json()] == [
        "SMr2"
    ]
    assert api.get("/nurture/sms/inbound?action=nope").status_code == 422
    body = api.get("/nurture/sms-settings").json()
    assert body["inbound_webhook_url"].endswith(urlsplit(urls["inbound"]).path)
    timeline = client.get(f"/w/{workspace.slug}/contacts/{ann.pk}/").content.decode()
    assert "Replied by text message" in timeline

    # The page and the list cost the same number of queries with more texts.
    def queries(get, path: str) -> int:
        with CaptureQueriesContext(connection) as seen:
            assert get(path).status_code == 200
        return len(seen)

    page_path, api_path = f"/w/{workspace.slug}/settings/sms/", "/nurture/sms/inbound"
    before = (queries(client.get, page_path), queries(api.get, api_path))
    for number in range(4):
        sms_inbound_record(
            workspace=workspace, message_sid=f"SMq{number}", from_number=ANN, body="More"
        )
    assert (queries(client.get, page_path), queries(api.get, api_path)) == before


def test_a_sales_member_limited_to_own_leads_sees_only_their_leads_texts(workspace, make_member):
    from django.test import Client

    membership = make_member("sales")
    mine = person(workspace, "mine@example.com", phone="+14155550141", first_name="Mine")
    theirs = person(workspace, "theirs@example.com", phone="+14155550142", first_name="Theirs")
    mine.owner_id = membership.user_id
    mine.save(update_fields=["owner"])
    sms_inbound_record(workspace=workspace, message_sid="SMo1", from_number=mine.phone, body="Mine")
    sms_inbound_record(
        workspace=workspace, message_sid="SMo2", from_number=theirs.phone, body="Theirs"
    )
    sms_inbound_record(
        workspace=workspace, message_sid="SMo3", from_number="+14155550199", body="Nobody"
    )
    sales = Client()
    sales.force_login(membership.user)
    page = sales.get(f"/w/{workspace.slug}/settings/sms/").content.decode()
    assert ">Mine<" in page or "Mine</" in page
    assert "Theirs" not in page and "Nobody" not in page
    workspace.sales_sees_all_leads = True
    workspace.save()
    page = sales.get(f"/w/{workspace.slug}/settings/sms/").content.decode()
    assert "Theirs" in page and "Nobody" in page
