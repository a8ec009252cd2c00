"""The public JSON submission endpoint: durable, idempotent, strict, spam-aware."""

import threading
import uuid

import pytest
from django.db import connection

from leadflow.capture.models import ConsentRecord, Submission
from leadflow.contacts.models import Activity, Contact

from .conftest import CONSENT_TEXT, PublicClient, good_fields


def test_a_submission_becomes_a_contact_with_everything_recorded(public, lead_form):
    response = public.submit()
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "accepted" and body["message"] == lead_form.success_message
    contact = Contact.objects.get(email="jane@initech.com")
    assert contact.phone == "+447911123456"
    assert contact.custom_fields == {"team_size": 25}
    assert contact.lifecycle_stage == "mql"
    assert contact.consent_status == "granted"
    assert (
        contact.first_touch_source,
        contact.first_touch_medium,
        contact.first_touch_campaign,
    ) == ("google", "cpc", "spring")
    assert list(contact.tags.values_list("name", flat=True)) == ["demo-request"]
    submission = Submission.objects.get()
    assert submission.status == "accepted" and submission.contact == contact
    assert submission.ip == "203.0.113.7"
    assert submission.page_url == "https://www.acme-widgets.com/demo"
    assert submission.utm["utm_campaign"] == "spring"
    assert submission.values["channels"] == ["Email"]
    assert submission.values["utm_source"] == "google"  # hidden field filled from the page
    consent = ConsentRecord.objects.get()
    assert consent.text == CONSENT_TEXT and len(consent.version) == 12
    assert consent.ip == "203.0.113.7" and consent.page_url.endswith("/demo")
    activity = Activity.objects.get(contact=contact, kind="form.submitted")
    assert activity.data["form"] == "Book a demo"
    assert activity.data["page_url"].endswith("/demo")
    assert response["Access-Control-Allow-Origin"] == "https://www.acme-widgets.com"


def test_the_same_submission_id_stores_once_and_replays(public):
    submission_id = uuid.uuid4()
    first = public.submit(submission_id=submission_id)
    again = public.submit(submission_id=submission_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Submission.objects.count() == 1
    assert Activity.objects.filter(kind="form.submitted").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_store_once(lead_form):
    submission_id = uuid.uuid4()
    statuses, errors = [], []
    barrier = threading.Barrier(5)
    token = PublicClient(lead_form).config().json()["token"]

    def send():
        try:
            barrier.wait(timeout=10)
            statuses.append(
                PublicClient(lead_form).submit(submission_id=submission_id, token=token).status_code
            )
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(statuses) == [200, 200, 200, 200, 201]
    assert Submission.objects.count() == 1
    assert Contact.objects.count() == 1
    assert Activity.objects.filter(kind="form.submitted").count() == 1


def test_bad_input_names_every_field_and_writes_nothing(public):
    response = public.submit(
        good_fields(
            email="not-an-email",
            phone="12",
            team_size="many",
            interest="Lunch",
            channels=["Fax"],
            timeline="Never",
            start="31/12/2027",
            message="x" * 201,
            consent=False,
            surprise="!",
        )
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {
        "email",
        "phone",
        "team_size",
        "interest",
        "channels",
        "timeline",
        "start",
        "message",
        "consent",
        "surprise",
    }
    assert not Submission.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("someone@mailinator.com", "permanent"),
        ("spy@competitor.com", "another email"),
    ],
)
def test_blocked_and_disposable_domains(public, email, message):
    response = public.submit(good_fields(email=email))
    assert response.status_code == 422
    assert message in response.json()["errors"][0]["message"]


def test_missing_required_fields(public):
    response = public.submit({"first_name": "Only"})
    assert {e["field"] for e in response.json()["errors"]} == {"email", "interest", "consent"}


def test_malformed_bodies(public, lead_form):
    client = public.client
    response = client.post(f"/f/{lead_form.key}", "{oops", content_type="application/json")
    assert response.status_code == 422
    response = client.post(
        f"/f/{lead_form.key}",
        '{"fields": [], "submission_id": "x"}',
        content_type="application/json",
    )
    assert {e["field"] for e in response.json()["errors"]} == {"fields", "submission_id"}


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"token": None}, "missing time token"),
        ({"token": "forged"}, "invalid time token"),
    ],
)
def test_missing_or_forged_token_is_stored_as_spam(public, extra, reason):
    response = public.submit(token=extra["token"])
    assert response.status_code == 201  # an apparent success: bots learn nothing
    submission = Submission.objects.get()
    assert (submission.status, submission.spam_reason) == ("spam", reason)
    assert not Contact.objects.exists()


def test_honeypot_is_stored_as_spam(public):
    response = public.submit(good_fields(_lf_hp="http://spam.example"))
    assert response.status_code == 201
    assert Submission.objects.get().spam_reason == "honeypot"
    assert not Contact.objects.exists()


def test_too_fast_is_spam(public, lead_form):
    lead_form.min_fill_seconds = 5
    lead_form.save()
    assert public.submit().status_code == 201
    assert Submission.objects.get().spam_reason == "too fast"
    assert not Contact.objects.exists()


def test_proof_of_work_when_the_form_asks_for_it(public, lead_form):
    from leadflow.capture.antispam import proof_of_work_ok

    lead_form.proof_of_work = True
    lead_form.save()
    config = public.config().json()
    challenge, bits = config["proof_of_work"]["challenge"], config["proof_of_work"]["bits"]
    public.submit(token=config["token"], extra={"pow": "wrong"})
    assert Submission.objects.get().spam_reason == "proof of work"
    nonce = next(str(n) for n in range(10_000_000) if proof_of_work_ok(challenge, str(n), bits))
    response = public.submit(token=config["token"], extra={"pow": nonce})
    assert response.status_code == 201
    assert Contact.objects.count() == 1


def test_unknown_disabled_and_foreign_origin(public, lead_form):
    assert public.client.post("/f/f_nope", "{}", content_type="application/json").status_code == 404
    lead_form.allowed_origins = ["https://www.acme-widgets.com"]
    lead_form.save()
    assert (
        PublicClient(lead_form, origin="https://evil.example").submit(token=None).status_code == 403
    )
    assert public.submit().status_code == 201
    lead_form.status = "disabled"
    lead_form.save()
    assert public.submit(token="x").status_code == 410
    assert Submission.objects.count() == 1


def test_cors_preflight(public, lead_form):
    response = public.client.options(
        f"/f/{lead_form.key}", headers={"Origin": "https://any.example"}
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://any.example"
    lead_form.allowed_origins = ["https://www.acme-widgets.com"]
    lead_form.save()
    assert (
        public.client.options(
            f"/f/{lead_form.key}", headers={"Origin": "https://any.example"}
        ).status_code
        == 403
    )


def test_rate_limit_per_ip(public, settings):
    settings.LEADFLOW_FORM_RATE_PER_IP = 2
    statuses = [public.submit(good_fields(email=f"p{n}@initech.com")).status_code for n in range(3)]
    assert statuses == [201, 201, 429]
    assert int(public.submit().headers["Retry-After"]) >= 1
    assert Submission.objects.count() == 2


def test_body_over_the_limit_answers_413(public, settings):
    settings.LEADFLOW_MAX_BODY_BYTES = 500
    assert public.submit(good_fields(message="x" * 1000)).status_code == 413
    assert not Submission.objects.exists()


def test_a_form_never_moves_a_customer_back(public, workspace):
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor

    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "jane@initech.com", "lifecycle_stage": "customer"},
    )
    assert public.submit().status_code == 201
    assert Contact.objects.get().lifecycle_stage == "customer"


@pytest.mark.django_db(transaction=True)
def test_database_down_answers_503_and_nothing_is_claimed(public, lead_form):
    from tests.core.test_database_failure import database_down

    token = public.config().json()["token"]
    with database_down():
        response = public.submit(token=token)
    assert response.status_code == 503 and response["Retry-After"]
    assert not Submission.objects.exists()


def test_errors_from_the_guards_are_readable_cross_origin(public, settings):
    settings.LEADFLOW_MAX_BODY_BYTES = 300
    response = public.submit(good_fields(message="x" * 1000))
    assert response.status_code == 413
    assert response["Access-Control-Allow-Origin"] == "https://www.acme-widgets.com"
    assert "Retry-After" in response["Access-Control-Expose-Headers"]


def test_plain_html_post_from_a_foreign_site_gets_a_page(lead_form):
    from django.test import Client

    lead_form.allowed_origins = ["https://www.acme-widgets.com"]
    lead_form.save()
    response = Client().post(
        f"/f/{lead_form.key}",
        {"email": "a@initech.com"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert b"cannot be used from this website" in response.content
