"""A quick person is never filed as spam: the first render's time carries over a 422, a
submission caught only by a soft signal (time) is held as suspected, and a member releases
a suspected or spam submission as a real lead, through the path of every accepted one."""

import re
import time

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from leadflow.capture import selectors
from leadflow.capture.models import ConsentRecord, NotificationLog, Submission
from leadflow.contacts.models import Activity, Contact
from leadflow.core.models import AuditEntry

from .conftest import CONSENT_TEXT, PublicClient, good_fields, lead_form_fields

SITE = "https://www.acme-widgets.com"
AD_PAGE = f"{SITE}/demo?gclid=Cj0KCQ-abc&utm_source=google&utm_medium=cpc&utm_campaign=spring"


def plain_post(**overrides):
    data = {
        "email": "Jane@Initech.com",
        "first_name": "Jane",
        "phone": "07911 123456",
        "interest": "Demo",
        "channels": ["Email"],
        "consent": "1",
        "_lf_hp": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def hidden(html: str, name: str) -> str | None:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


@pytest.fixture
def person():
    return Client(REMOTE_ADDR="198.51.100.4", headers={"User-Agent": "Mozilla/5.0 (test)"})


def _post(client, form, data, *, query="", referer=""):
    headers = {"Origin": "http://testserver"}
    if referer:
        headers["Referer"] = referer
    return client.post(f"/f/{form.key}{query}", data, headers=headers)


# --- the cause: the time a form was first shown carries over a 422 ---------------------------


def test_a_422_then_a_fix_sent_at_once_is_stored_as_a_lead(person, lead_form):
    lead_form.min_fill_seconds = 1
    lead_form.save()
    page = person.get(f"/f/{lead_form.key}").content.decode()
    first_token = hidden(page, "_lf_t")
    time.sleep(1.1)  # the person fills the form, forgetting the interest
    wrong = _post(person, lead_form, plain_post(interest=None, _lf_t=first_token))
    assert wrong.status_code == 422
    again = wrong.content.decode()
    assert hidden(again, "_lf_t") == first_token  # the first render's time, not a new one

    fixed = _post(person, lead_form, plain_post(_lf_t=hidden(again, "_lf_t")))  # at once
    assert fixed.status_code == 201
    submission = Submission.objects.get()
    assert (submission.status, submission.spam_reason) == ("accepted", "")
    contact = Contact.objects.get(email="jane@initech.com")
    assert submission.contact == contact
    assert Activity.objects.filter(contact=contact, kind="form.submitted").count() == 1


def test_the_page_holds_a_quick_send_back_for_the_time_still_to_wait(person, lead_form):
    lead_form.min_fill_seconds = 3
    lead_form.save()
    page = person.get(f"/f/{lead_form.key}").content.decode()
    assert "Date.now() + 3250;" in page  # the whole minimum time, and a quarter second
    token = hidden(page, "_lf_t")
    time.sleep(1)
    again = _post(person, lead_form, plain_post(email="x", _lf_t=token)).content.decode()
    wait = int(re.search(r"Date.now\(\) \+ (\d+);", again).group(1))
    assert 1000 < wait < 2500  # only what is left of the first render's three seconds


def test_only_a_valid_token_is_carried_over(lead_form):
    from leadflow.capture.antispam import form_token_carry, form_token_issue, form_token_read

    token = form_token_issue(lead_form)
    assert form_token_carry(lead_form, token)[0] == token
    assert form_token_carry(lead_form, None) == (None, 0.0)  # none given, none handed back
    fresh, wait = form_token_carry(lead_form, "forged")
    assert fresh != "forged" and form_token_read(lead_form, fresh) is not None
    assert wait == lead_form.min_fill_seconds


# --- a soft signal holds, never drops ---------------------------------------------------------


def test_a_quick_person_is_held_as_suspected_and_counted_on_the_form(person, lead_form):
    lead_form.min_fill_seconds = 30
    lead_form.save()
    token = hidden(person.get(f"/f/{lead_form.key}").content.decode(), "_lf_t")
    response = _post(person, lead_form, plain_post(_lf_t=token))  # autofill, one click
    assert response.status_code == 201
    assert lead_form.success_message in response.content.decode()
    submission = Submission.objects.get()
    assert (submission.status, submission.spam_reason) == ("suspected", "too fast")
    assert submission.values["email"] == "jane@initech.com"  # checked like a lead's
    assert not Contact.objects.exists()
    stats = selectors.form_stats(lead_form.workspace, [lead_form.pk])[lead_form.pk]
    assert (stats.submissions, stats.suspected, stats.spam) == (0, 1, 0)


def test_a_quick_send_with_a_wrong_answer_gets_the_form_back(person, lead_form):
    """A person, however quick, is told what to fix: only bots get a silent success."""
    lead_form.min_fill_seconds = 30
    lead_form.save()
    token = hidden(person.get(f"/f/{lead_form.key}").content.decode(), "_lf_t")
    response = _post(person, lead_form, plain_post(email="jane@", _lf_t=token))
    assert response.status_code == 422
    assert not Submission.objects.exists()


def test_a_quick_bot_is_spam_and_a_quick_person_suspected(person, lead_form):
    """The hard signal wins: a quick bot is not given the benefit of the doubt."""
    lead_form.min_fill_seconds = 30
    lead_form.save()
    token = hidden(person.get(f"/f/{lead_form.key}").content.decode(), "_lf_t")
    _post(person, lead_form, plain_post(_lf_t=token, _lf_hp="http://pills.example"))
    _post(person, lead_form, plain_post(_lf_t=token, email="quick@initech.com"))
    statuses = dict(Submission.objects.values_list("spam_reason", "status"))
    assert statuses == {"honeypot": "spam", "too fast": "suspected"}


def test_a_page_left_open_for_a_day_is_suspected_not_spam(public, lead_form, api):
    from django.core import signing

    from leadflow.capture import antispam

    class DayOld(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 25 * 3600)

    shown = {"f": lead_form.key, "t": time.time() - 25 * 3600, "c": "0" * 16}
    token = DayOld(salt=antispam._SALT).sign_object(shown)
    assert public.submit(token=token).status_code == 201
    submission = Submission.objects.get()
    assert (submission.status, submission.spam_reason) == ("suspected", "expired time token")
    listed = api.get(f"/forms/{lead_form.pk}/submissions?status=suspected").json()["items"]
    assert [item["id"] for item in listed] == [submission.pk]


def test_too_fast_through_json_is_suspected_too(public, lead_form):
    lead_form.min_fill_seconds = 30
    lead_form.save()
    assert public.submit().status_code == 201
    assert Submission.objects.get().status == "suspected"


# --- release: the path of every accepted submission, once -------------------------------------


def run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_releasing_a_suspected_submission_makes_one_lead(api, lead_form, owner):
    lead_form.min_fill_seconds = 30
    lead_form.notify_user_ids = [owner.pk]
    lead_form.save()
    assert PublicClient(lead_form).submit().status_code == 201
    held = Submission.objects.get()
    assert held.status == "suspected" and not Contact.objects.exists()
    run_worker()
    assert mail.outbox == []  # nobody hears of a held submission

    url = f"/forms/{lead_form.pk}/submissions/{held.pk}/release"
    response = api.post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "accepted" and body["spam_reason"] == "too fast"
    assert body["released_by"] == "API key tests" and body["released_at"]
    contact = Contact.objects.get(email="jane@initech.com")
    assert body["contact_id"] == contact.pk
    assert contact.first_name == "Jane" and contact.phone == "+447911123456"
    assert contact.lifecycle_stage == "mql" and contact.consent_status == "granted"
    assert contact.tags.filter(name="demo-request").exists()
    assert contact.first_touch_channel == "paid_search"  # the page's UTM (medium cpc)
    (activity,) = Activity.objects.filter(contact=contact, kind="form.submitted")
    assert activity.data["submission_id"] == str(held.submission_id)
    assert activity.data["released_by"] == "API key tests"
    (consent,) = ConsentRecord.objects.filter(contact=contact)
    assert consent.submission_id == held.pk and consent.text == CONSENT_TEXT
    run_worker()
    assert [message.to for message in mail.outbox] == [[owner.email]]
    assert "New lead from Book a demo: Jane" in mail.outbox[0].subject

    # A double click or a retried request is harmless: nothing is written twice.
    again = api.post(url)
    assert again.status_code == 200 and again.json()["contact_id"] == contact.pk
    run_worker()
    assert Contact.objects.count() == 1
    assert Activity.objects.filter(contact=contact, kind="form.submitted").count() == 1
    assert ConsentRecord.objects.count() == 1
    assert NotificationLog.objects.count() == 1 and len(mail.outbox) == 1
    assert AuditEntry.objects.filter(action="submission.released").count() == 1


def test_not_spam_releases_a_honeypot_submission(api, lead_form):
    PublicClient(lead_form).submit(good_fields(_lf_hp="filled by a password manager"))
    spam = Submission.objects.get()
    assert spam.status == "spam" and not Contact.objects.exists()
    response = api.post(f"/forms/{lead_form.pk}/submissions/{spam.pk}/release")
    assert response.status_code == 200
    spam.refresh_from_db()
    assert spam.status == "accepted" and spam.spam_reason == "honeypot"
    assert spam.contact.email == "jane@initech.com"
    assert spam.values["interest"] == "Demo"
    filtered = api.get(f"/forms/{lead_form.pk}/submissions?status=accepted").json()["items"]
    assert [item["id"] for item in filtered] == [spam.pk]


def test_the_audit_log_names_the_released_submission_by_who_sent_it_and_where(api, lead_form):
    PublicClient(lead_form).submit(good_fields(_lf_hp="filled by a password manager"))
    spam = Submission.objects.get()
    api.post(f"/forms/{lead_form.pk}/submissions/{spam.pk}/release")
    (entry,) = AuditEntry.objects.filter(action="submission.released")
    assert entry.object_label == "jane@initech.com on Book a demo"
    assert "Submission object" not in entry.object_label


def test_release_checks_the_answers_against_the_form(api, lead_form):
    PublicClient(lead_form).submit(good_fields(email="not-an-email", _lf_hp="bot"))
    spam = Submission.objects.get()
    response = api.post(f"/forms/{lead_form.pk}/submissions/{spam.pk}/release")
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["email"]
    spam.refresh_from_db()
    assert spam.status == "spam" and not Contact.objects.exists()


def test_release_of_another_workspaces_submission_is_404(
    api, other_api, lead_form, other_workspace, owner_actor
):
    from leadflow.capture import services

    PublicClient(lead_form).submit(good_fields(_lf_hp="x"))
    spam = Submission.objects.get()
    theirs = services.form_create(
        workspace=other_workspace,
        actor=owner_actor,
        data={"name": "Theirs", "fields": lead_form_fields()[:1]},
    )
    assert other_api.post(f"/forms/{lead_form.pk}/submissions/{spam.pk}/release").status_code == (
        404
    )
    assert other_api.post(f"/forms/{theirs.pk}/submissions/{spam.pk}/release").status_code == 404
    assert api.post(f"/forms/{theirs.pk}/submissions/{spam.pk}/release").status_code == 404
    assert api.post(f"/forms/{lead_form.pk}/submissions/999999/release").status_code == 404
    spam.refresh_from_db()
    assert spam.status == "spam" and not Contact.objects.exists()
    # Its own workspace releases it.
    assert api.post(f"/forms/{lead_form.pk}/submissions/{spam.pk}/release").status_code == 200


def test_release_needs_the_forms_write_scope(api_key_for, workspace, lead_form):
    PublicClient(lead_form).submit(good_fields(_lf_hp="x"))
    reader = api_key_for(workspace, scopes=["forms:read"])
    spam = Submission.objects.get()
    assert reader.post(f"/forms/{lead_form.pk}/submissions/{spam.pk}/release").status_code == 403


# --- attribution: what the iframe and plain HTML embeds carry ----------------------------------


def test_a_plain_form_on_an_ad_landing_page_is_credited_to_paid_search(person, lead_form):
    """The snippet's script posts the page's full address: its UTM and click id count."""
    response = _post(
        person,
        lead_form,
        plain_post(
            _lf_page_url=f"{SITE}/demo?gclid=Cj0KCQ-abc",
            _lf_referrer="https://www.google.com/",
            _lf_visitor_id="v-77",
        ),
        referer=f"{SITE}/",
    )
    assert response.status_code == 201
    submission = Submission.objects.get()
    assert submission.page_url == f"{SITE}/demo?gclid=Cj0KCQ-abc"
    assert submission.referrer == "https://www.google.com/"
    assert submission.visitor_id == "v-77"
    contact = submission.contact
    assert contact.first_touch_channel == "paid_search"


def test_the_page_s_utm_is_taken_from_its_address(person, lead_form):
    _post(person, lead_form, plain_post(_lf_page_url=AD_PAGE))
    submission = Submission.objects.get()
    assert submission.utm == {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
    }
    assert submission.values["utm_source"] == "google"  # the form's hidden field
    contact = submission.contact
    assert (contact.first_touch_channel, contact.first_touch_campaign) == ("paid_search", "spring")


def test_the_iframe_knows_the_page_around_it_and_keeps_it_over_a_422(person, lead_form):
    lead_form.min_fill_seconds = 0
    lead_form.save()
    # With the snippet's referrerpolicy, the frame's request names the whole page.
    framed = person.get(f"/f/{lead_form.key}?embed=1", headers={"Referer": AD_PAGE})
    page = framed.content.decode()
    assert hidden(page, "_lf_page_url") == AD_PAGE
    assert "leadflow:context?" in page  # it asks the snippet's script for more
    # The script's postMessage adds the referrer and the visitor id; a typo comes back.
    wrong = _post(
        person,
        lead_form,
        plain_post(
            email="jane@",
            _lf_page_url=AD_PAGE,
            _lf_referrer="https://www.google.com/",
            _lf_visitor_id="v-9",
            _lf_t=hidden(page, "_lf_t"),
        ),
        query="?embed=1",
        referer=f"http://testserver/f/{lead_form.key}?embed=1",
    )
    assert wrong.status_code == 422
    again = wrong.content.decode()
    assert hidden(again, "_lf_page_url") == AD_PAGE
    assert hidden(again, "_lf_referrer") == "https://www.google.com/"
    assert hidden(again, "_lf_visitor_id") == "v-9"

    fixed = {
        name: hidden(again, name) for name in ("_lf_page_url", "_lf_referrer", "_lf_visitor_id")
    }
    _post(
        person,
        lead_form,
        plain_post(**fixed, _lf_t=hidden(again, "_lf_t")),
        query="?embed=1",
        referer=f"http://testserver/f/{lead_form.key}?embed=1",
    )
    submission = Submission.objects.get()
    assert submission.page_url == AD_PAGE  # never the frame's own address
    assert submission.visitor_id == "v-9"
    assert submission.contact.first_touch_channel == "paid_search"


def test_the_hosted_page_is_its_own_landing_page(person, lead_form):
    page = person.get(
        f"/f/{lead_form.key}?utm_source=newsletter&utm_medium=email",
        headers={"Referer": "https://mail.example/"},
    ).content.decode()
    assert hidden(page, "_lf_page_url") == (
        f"http://testserver/f/{lead_form.key}?utm_source=newsletter&utm_medium=email"
    )
    assert hidden(page, "_lf_referrer") == "https://mail.example/"
    # The form's hidden UTM field is left for the server, which fills it from the page.
    assert hidden(page, "utm_source") == ""
    _post(person, lead_form, plain_post(_lf_page_url=hidden(page, "_lf_page_url"), utm_source=""))
    submission = Submission.objects.get()
    assert submission.utm == {"utm_source": "newsletter", "utm_medium": "email"}
    assert submission.values["utm_source"] == "newsletter"
    assert submission.contact.first_touch_channel == "email"


def test_a_hand_written_form_s_page_is_kept_over_its_error_page(person, lead_form):
    wrong = _post(person, lead_form, plain_post(interest=None), referer=f"{SITE}/contact")
    assert wrong.status_code == 422
    again = wrong.content.decode()
    assert hidden(again, "_lf_page_url") == f"{SITE}/contact"
    # The fix is posted from LeadFlow's own page: its address is not taken for the page.
    _post(
        person,
        lead_form,
        plain_post(_lf_page_url=hidden(again, "_lf_page_url")),
        referer=f"http://testserver/f/{lead_form.key}",
    )
    assert Submission.objects.get().page_url == f"{SITE}/contact"
