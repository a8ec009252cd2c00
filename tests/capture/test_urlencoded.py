"""The hosted form page and plain HTML posts (application/x-www-form-urlencoded).

This is the path of the iframe embed and of a hand-written <form> on any site: answers
are HTML pages (the thank-you page, a redirect, or the form again with its messages).
"""

import re
import uuid

import pytest
from django.test import Client

from leadflow.capture.models import Submission
from leadflow.contacts.models import Activity, Contact

from .conftest import CONSENT_TEXT

SITE = "https://www.acme-widgets.com"


def good_post(**overrides):
    """A plain HTML post: text everywhere, checkboxes as repeated keys, consent as "1"."""
    data = {
        "email": "Jane@Initech.com",
        "first_name": "Jane",
        "phone": "07911 123456",
        "team_size": "25",
        "interest": "Demo",
        "channels": ["Email", "Phone"],
        "timeline": "Now",
        "start": "2027-01-15",
        "message": "Hello",
        "consent": "1",
        "_lf_hp": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def browser_client():
    return Client(REMOTE_ADDR="198.51.100.4", headers={"User-Agent": "Mozilla/5.0 (test)"})


def post(client, form, data, *, query="", origin=SITE, referer=f"{SITE}/contact"):
    headers = {"Referer": referer}
    if origin:
        headers["Origin"] = origin
    return client.post(f"/f/{form.key}{query}", data, headers=headers)


def test_a_plain_post_answers_with_the_thank_you_page(browser_client, lead_form):
    response = post(browser_client, lead_form, good_post())
    assert response.status_code == 201
    assert response["Content-Type"].startswith("text/html")
    assert lead_form.success_message in response.content.decode()
    assert response.templates[0].name == "capture/thanks.html"
    submission = Submission.objects.get()
    assert (submission.status, submission.spam_reason) == ("accepted", "")
    assert submission.page_url == f"{SITE}/contact"  # from the Referer
    assert submission.ip == "198.51.100.4" and submission.user_agent == "Mozilla/5.0 (test)"
    contact = Contact.objects.get(email="jane@initech.com")
    assert submission.contact == contact and contact.phone == "+447911123456"
    assert Activity.objects.filter(contact=contact, kind="form.submitted").count() == 1


def test_checkboxes_arrive_as_repeated_keys(browser_client, lead_form):
    post(browser_client, lead_form, good_post(channels=["Phone", "Email", "Phone"]))
    assert Submission.objects.get().values["channels"] == ["Phone", "Email"]


def test_redirect_url_answers_303(browser_client, lead_form):
    lead_form.redirect_url = "https://www.acme-widgets.com/thank-you"
    lead_form.save()
    response = post(browser_client, lead_form, good_post())
    assert response.status_code == 303
    assert response["Location"] == "https://www.acme-widgets.com/thank-you"
    assert Submission.objects.get().status == "accepted"


def test_errors_re_render_the_form_with_messages_and_the_typed_values(browser_client, lead_form):
    response = post(
        browser_client,
        lead_form,
        good_post(email="not-an-email", interest=None, consent=None, channels=["Email"]),
    )
    assert response.status_code == 422
    assert response.templates[0].name == "capture/form_page.html"
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "This field is required." in html  # interest
    assert "Please tick this box to continue." in html  # consent
    assert 'value="not-an-email"' in html and 'aria-invalid="true"' in html
    assert 'value="Jane"' in html and "07911 123456" in html
    assert re.search(r'value="Email" checked', html)  # the ticked checkbox stays ticked
    assert not re.search(r'value="Phone" checked', html)
    assert re.search(r'value="Now" checked', html)
    # The post had no time token (a hand-written form): the corrected one carries none
    # either, so it meets the same rules as the first try (the first render's time).
    assert 'name="_lf_t"' not in html
    assert not Submission.objects.exists() and not Contact.objects.exists()


def test_what_a_visitor_typed_is_escaped_on_the_re_rendered_form(browser_client, lead_form):
    attack = '"><script>alert(1)</script>'
    response = post(browser_client, lead_form, good_post(email="x", first_name=attack))
    assert response.status_code == 422
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_reserved_names_are_context_not_fields(browser_client, lead_form):
    submission_id = uuid.uuid4()
    response = post(
        browser_client,
        lead_form,
        good_post(
            _lf_submission_id=str(submission_id),
            _lf_page_url="https://www.acme-widgets.com/pricing",
            _lf_referrer="https://news.example/",
            _lf_utm_source="newsletter",
            _lf_utm_campaign="spring",
            _lf_visitor_id="v-42",
            _lf_anything_new="ignored",
        ),
    )
    assert response.status_code == 201, response.content
    submission = Submission.objects.get()
    assert submission.submission_id == submission_id
    assert submission.page_url == "https://www.acme-widgets.com/pricing"
    assert submission.referrer == "https://news.example/"
    assert submission.utm == {"utm_source": "newsletter", "utm_campaign": "spring"}
    assert submission.visitor_id == "v-42"
    assert not [name for name in submission.payload if name.startswith("_lf_")]
    assert submission.values["utm_source"] == "newsletter"  # the hidden field


def test_an_unknown_plain_name_is_a_field_error(browser_client, lead_form):
    response = post(browser_client, lead_form, good_post(surprise="!"))
    assert response.status_code == 422
    assert "Unknown field." in response.content.decode()
    assert not Submission.objects.exists()


def test_the_same_submission_id_stores_once(browser_client, lead_form):
    data = good_post(_lf_submission_id=str(uuid.uuid4()))
    first = post(browser_client, lead_form, data)
    again = post(browser_client, lead_form, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert lead_form.success_message in again.content.decode()
    assert Submission.objects.count() == 1 and Contact.objects.count() == 1
    bad = post(browser_client, lead_form, good_post(_lf_submission_id="not-a-uuid"))
    assert bad.status_code == 422 and Submission.objects.count() == 1


def test_honeypot_looks_like_success_and_is_stored_as_spam(browser_client, lead_form):
    response = post(browser_client, lead_form, good_post(_lf_hp="https://cheap-pills.example"))
    assert response.status_code == 201
    assert lead_form.success_message in response.content.decode()
    submission = Submission.objects.get()
    assert (submission.status, submission.spam_reason) == ("spam", "honeypot")
    assert not Contact.objects.exists()
    assert not Activity.objects.filter(kind="form.submitted").exists()


def _token_from(html: str) -> str:
    return re.search(r'name="_lf_t" value="([^"]+)"', html).group(1)


def test_the_hosted_form_carries_a_time_token(browser_client, lead_form):
    lead_form.min_fill_seconds = 30
    lead_form.save()
    token = _token_from(browser_client.get(f"/f/{lead_form.key}").content.decode())
    response = post(browser_client, lead_form, good_post(_lf_t=token))
    assert response.status_code == 201  # an apparent success...
    assert Submission.objects.get().spam_reason == "too fast"  # ...for a bot
    lead_form.min_fill_seconds = 0
    lead_form.save()
    post(browser_client, lead_form, good_post(_lf_t=token))
    assert Submission.objects.filter(status="accepted").count() == 1
    post(browser_client, lead_form, good_post(_lf_t="forged"))
    assert Submission.objects.filter(spam_reason="invalid time token").count() == 1


def test_get_renders_the_embeddable_form(browser_client, lead_form):
    response = browser_client.get(f"/f/{lead_form.key}")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers  # any site may frame it
    assert "Content-Security-Policy" not in response.headers
    html = response.content.decode()
    assert "<h1>Book a demo</h1>" in html
    for name in ("email", "first_name", "phone", "team_size", "interest", "start", "message"):
        assert f'name="{name}"' in html
    assert 'type="tel"' in html and 'type="date"' in html and 'type="number"' in html
    assert CONSENT_TEXT in html
    assert 'name="_lf_hp" tabindex="-1" autocomplete="off"' in html
    assert f'action="/f/{lead_form.key}"' in html

    framed = browser_client.get(f"/f/{lead_form.key}?embed=1")
    assert "<h1>" not in framed.content.decode()  # the site around the iframe has the title
    assert f'action="/f/{lead_form.key}?embed=1"' in framed.content.decode()


def test_allowed_origins_become_frame_ancestors(browser_client, lead_form):
    lead_form.allowed_origins = [SITE, "https://shop.acme-widgets.com"]
    lead_form.save()
    response = browser_client.get(f"/f/{lead_form.key}?embed=1")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert response["Content-Security-Policy"] == (
        f"frame-ancestors 'self' {SITE} https://shop.acme-widgets.com"
    )


def test_allowed_origins_and_the_hosted_form_itself(browser_client, lead_form):
    lead_form.allowed_origins = [SITE]
    lead_form.save()
    refused = post(browser_client, lead_form, good_post(), origin="https://evil.example")
    assert refused.status_code == 403
    # The hosted (and iframe) form posts to itself: LeadFlow's own origin is always allowed.
    own = post(
        browser_client,
        lead_form,
        good_post(),
        query="?embed=1",
        origin="http://testserver",
        referer=f"http://testserver/f/{lead_form.key}?embed=1",
    )
    assert own.status_code == 201
    assert own.templates[0].name == "capture/thanks.html"
    # The frame's own address is never taken for the page the lead was on (the rendered
    # form carries that page in _lf_page_url; this post did not).
    assert Submission.objects.get().page_url == ""


def test_unknown_form_answers_a_404_page(browser_client, db):
    response = browser_client.get("/f/f_does-not-exist")
    assert response.status_code == 404
    assert "This form does not exist." in response.content.decode()
    response = browser_client.post("/f/f_does-not-exist", good_post())
    assert response.status_code == 404
    assert "This form does not exist." in response.content.decode()


def test_disabled_form_answers_410(browser_client, lead_form):
    lead_form.status = "disabled"
    lead_form.save()
    response = browser_client.get(f"/f/{lead_form.key}")
    assert response.status_code == 410
    assert "no longer accepts submissions" in response.content.decode()
    response = post(browser_client, lead_form, good_post())
    assert response.status_code == 410
    assert "no longer accepts submissions" in response.content.decode()
    assert not Submission.objects.exists()


def test_the_embed_config_tells_the_script_how_long_to_wait(lead_form):
    """form.js holds a quick person's submission until the time trap would let it through,
    and reads Retry-After across origins."""
    lead_form.min_fill_seconds = 4
    lead_form.save()
    response = Client().get(f"/f/{lead_form.key}/config", headers={"Origin": SITE})
    assert response.json()["min_fill_seconds"] == 4
    assert response["Access-Control-Allow-Origin"] == SITE
    assert response["Access-Control-Expose-Headers"] == "Retry-After"
