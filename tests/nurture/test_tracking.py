"""Open and click tracking end to end: the email a real SMTP server (aiosmtpd) receives has
its links rewritten and the open pixel; following a link redirects to the address it
was signed with and records the click (once per window), identifying the browser on the
workspace's own site through ``lf_c``; an altered token answers 404 and writes nothing;
scanners are filtered; the counts per message over the API."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from leadflow.contacts.models import Activity
from leadflow.nurture.models import ContactPacing, Delivery, EmailEngagement
from leadflow.nurture.services import sending
from leadflow.nurture.services import settings as email_settings
from leadflow.nurture.tracking import click_read, click_token, open_token
from leadflow.nurture.tracking_kinds import EMAIL_CLICKED, EMAIL_OPENED, EMAIL_SENT
from leadflow.tracking.models import Visitor
from tests.nurture import sending_kit
from tests.tracking.helpers import CHROME, SITE, batch, event, send

pytestmark = pytest.mark.django_db(transaction=True)

HTML = (
    "<html><body><p>Hello {{ contact.first_name }},</p>"
    '<p><a href="https://www.acme-widgets.com/spring?a=1&amp;b=2#top">Our spring offer</a></p>'
    "<p><a class=\"x\" href='https://partner.example/deal'>A partner</a></p>"
    '<p><a href="mailto:hello@acme-widgets.com">Write to us</a></p>'
    '<p><a data-lf-notrack href="https://www.acme-widgets.com/plain">Plain</a></p>'
    "</body></html>"
)
SPRING = "https://www.acme-widgets.com/spring?a=1&b=2#top"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def smtp():
    controller, inbox = sending_kit.smtp_server()
    yield controller, inbox
    controller.stop()


def sent_email(workspace, controller, inbox, number=1):
    workspace.allowed_origins = [SITE]
    workspace.save(update_fields=["allowed_origins"])
    message = sending_kit.message_make(workspace, port=controller.port)
    template = email_settings.template_create(
        workspace=workspace, data={"name": "Tracked", "subject": "Spring", "html_body": HTML}
    )
    message.template = template
    message.save(update_fields=["template"])
    contact_ids = sending_kit.contacts_make(workspace, number)
    assert sending.message_send(message=message, contact_ids=contact_ids) == number
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert len(inbox.raw) == number
    return message, contact_ids


def workspace_owner(workspace):
    from leadflow.core.models import Membership

    return Membership.objects.filter(workspace=workspace, role="owner").first().user


def links_of(html):
    return re.findall(r'href="([^"]*)"', html)


def a_while_ago(delivery_ids, seconds=120):
    """The emails were handed over some time ago (a person, not a scanner, reads them)."""
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    Delivery.objects.filter(pk__in=delivery_ids).update(handed_at=before)


def test_the_received_email_has_tracked_links_and_the_pixel_and_a_click_goes_through(
    smtp, workspace
):
    controller, inbox = smtp
    message, (contact_id,) = sent_email(workspace, controller, inbox)
    delivery = Delivery.objects.get(message=message)
    received = inbox.messages()[0]
    html = received.get_body(preferencelist=("html",)).get_content()
    text = received.get_body(preferencelist=("plain",)).get_content()

    links = links_of(html)
    assert len(links) == 4
    spring, partner, mail, plain = links
    assert "/t/c/" in spring and "/t/c/" in partner
    assert mail == "mailto:hello@acme-widgets.com"
    assert plain == "https://www.acme-widgets.com/plain"  # data-lf-notrack
    assert click_read(urlsplit(spring).path.split("/")[3]).url == SPRING  # &amp; unescaped
    assert click_read(urlsplit(partner).path.split("/")[3]).url == "https://partner.example/deal"
    pixel = re.search(r'<img src="([^"]*/t/o/[^"]*\.gif)"', html).group(1)
    assert html.index(pixel) < html.index("</body>")
    # The plain-text part keeps the original, readable addresses.
    assert f"Our spring offer ({SPRING})" in text and "/t/c/" not in text
    # Sent: on the timeline, and one more ignored email for the pacing.
    sent = Activity.objects.get(contact_id=contact_id, kind=EMAIL_SENT)
    assert sent.data == {
        "message_id": message.pk,
        "message": message.name,
        "delivery_id": delivery.pk,
    }
    assert ContactPacing.objects.get(contact_id=contact_id).ignored_in_row == 1
    assert not Delivery.objects.filter(record_pending=True).exists()

    a_while_ago([delivery.pk])
    browser = Client(REMOTE_ADDR="198.51.100.7", headers={"User-Agent": CHROME})
    answer = browser.get(urlsplit(spring).path)
    assert answer.status_code == 302
    assert not answer.cookies  # nothing set: the token is all the endpoint needs
    target = answer["Location"]
    assert target.startswith("https://www.acme-widgets.com/spring?a=1&b=2&lf_c=")
    assert target.endswith("#top")
    clicked = Activity.objects.get(contact_id=contact_id, kind=EMAIL_CLICKED)
    assert clicked.data["url"] == SPRING and clicked.data["delivery_id"] == delivery.pk

    # The same link again within the window: redirected, not counted again.
    assert browser.get(urlsplit(spring).path).status_code == 302
    assert Activity.objects.filter(contact_id=contact_id, kind=EMAIL_CLICKED).count() == 1
    # Another site never gets the person's token.
    answer = browser.get(urlsplit(partner).path)
    assert answer["Location"] == "https://partner.example/deal"
    assert Activity.objects.filter(contact_id=contact_id, kind=EMAIL_CLICKED).count() == 2

    # The open pixel: a GIF, counted once per email.
    for _ in range(2):
        answer = browser.get(urlsplit(pixel).path)
        assert answer.status_code == 200 and answer["Content-Type"] == "image/gif"
        assert answer.content.startswith(b"GIF89a")
    assert Activity.objects.filter(contact_id=contact_id, kind=EMAIL_OPENED).count() == 1

    # The person's timeline tells all three, opens labelled unreliable.
    owner_client = Client()
    owner_client.force_login(workspace_owner(workspace))
    page = owner_client.get(f"/w/{workspace.slug}/contacts/{contact_id}/").content.decode()
    assert f"Marketing email sent: {message.name}" in page
    assert f"Opened the email {message.name} (unreliable)" in page
    assert f"Clicked a link in the email {message.name}" in page
    assert "https://www.acme-widgets.com/spring?a=1&amp;b=2#top" in page

    # lf_c: the browser that opens the page on the site joins the person.
    token = parse_qs(urlsplit(target).query)["lf_c"][0]
    payload = batch(workspace, [event("identify", props={"token": token})], visitor="reader-001")
    assert send(payload).status_code == 202
    assert Visitor.objects.get(visitor_key="reader-001").contact_id == contact_id


def test_the_engagement_counts_per_message_over_the_api(smtp, workspace, api, other_api):
    controller, inbox = smtp
    message, _contact_ids = sent_email(workspace, controller, inbox, number=3)
    deliveries = list(Delivery.objects.filter(message=message).order_by("id"))
    a_while_ago([d.pk for d in deliveries])
    person = Client(headers={"User-Agent": CHROME})
    scanner = Client(headers={"User-Agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"})
    for delivery in deliveries[:2]:
        path = f"/t/c/{click_token(workspace.pk, delivery.pk, SPRING)}/"
        assert person.get(path).status_code == 302
        assert scanner.get(path).status_code == 302
        assert person.get(f"/t/o/{open_token(workspace.pk, delivery.pk)}.gif").status_code == 200
    other = f"/t/c/{click_token(workspace.pk, deliveries[0].pk, 'https://partner.example/')}/"
    assert person.get(other).status_code == 302

    body = api.get(f"/nurture/messages/{message.pk}/engagement").json()
    assert body["sent"] == 3 and body["opened"] == 2
    assert body["clicked"] == 2 and body["clicks"] == 3 and body["filtered"] == 2
    assert "unreliable" in body["opens_note"]
    assert other_api.get(f"/nurture/messages/{message.pk}/engagement").status_code == 404


def test_an_altered_or_foreign_token_answers_404_and_writes_nothing(smtp, workspace):
    controller, inbox = smtp
    message, (_contact_id,) = sent_email(workspace, controller, inbox)
    delivery = Delivery.objects.get(message=message)
    a_while_ago([delivery.pk])
    person = Client(headers={"User-Agent": CHROME})
    good = click_token(workspace.pk, delivery.pk, SPRING)
    pixel = open_token(workspace.pk, delivery.pk)
    before = Activity.objects.count()
    forged = signing_forge(workspace.pk, delivery.pk, "https://evil.example/")
    bad_clicks = [
        good[:-1] + ("A" if good[-1] != "A" else "B"),  # the signature altered
        good.replace(good.split(":")[0], click_token(1, 1, "https://evil.example/").split(":")[0]),
        forged,  # signed with another key
        pixel,  # an open token is not a click token
        "nonsense",
        "",
        "%00",
        "a" * 9000,
        click_token(workspace.pk, delivery.pk, "javascript:alert(1)"),  # not http(s)
    ]
    for token in bad_clicks:
        answer = person.get(f"/t/c/{token}/")
        # (a NUL byte is refused by Django before the view: 400)
        assert answer.status_code == (400 if token == "%00" else 404), token
        assert "Location" not in answer
    for token in (pixel[:-2] + "zz", good, "x"):
        assert person.get(f"/t/o/{token}.gif").status_code == 404
    assert Activity.objects.count() == before
    assert not EmailEngagement.objects.exists()
    # A POST is not a click.
    assert person.post(f"/t/c/{good}/").status_code == 405
    assert not EmailEngagement.objects.exists()


def signing_forge(workspace_id, delivery_id, url):
    from django.core import signing
    from django.test import override_settings

    with override_settings(SECRET_KEY="not-the-site-secret-" * 3):
        return signing.Signer(salt="leadflow.nurture.track.click").sign_object(
            [workspace_id, delivery_id, url]
        )


@pytest.mark.parametrize(
    ("method", "agent", "seconds_ago", "reason"),
    [
        ("get", "Mozilla/5.0 (compatible; Barracuda Sentinel)", 600, "barracuda"),
        ("get", "python-requests/2.32", 600, "python"),
        ("get", "", 600, "no user agent"),
        ("head", CHROME, 600, "HEAD"),
        ("get", CHROME, 2, "of hand-over"),
    ],
)
def test_scanners_are_recorded_as_filtered_not_counted(
    smtp, workspace, method, agent, seconds_ago, reason
):
    controller, inbox = smtp
    message, (contact_id,) = sent_email(workspace, controller, inbox)
    delivery = Delivery.objects.get(message=message)
    a_while_ago([delivery.pk], seconds=seconds_ago)
    client = Client(headers={"User-Agent": agent} if agent else {})
    path = f"/t/c/{click_token(workspace.pk, delivery.pk, SPRING)}/"
    answer = getattr(client, method)(path)
    assert answer.status_code == 302
    # A scanner gets the page, never the person's token (its browser is not theirs).
    assert answer["Location"] == SPRING
    (hit,) = EmailEngagement.objects.all()
    assert not hit.counted and reason in hit.filter_reason
    assert not Activity.objects.filter(contact_id=contact_id, kind=EMAIL_CLICKED).exists()
    assert ContactPacing.objects.get(contact_id=contact_id).ignored_in_row == 1  # not engaged
    # A person's click afterwards counts.
    a_while_ago([delivery.pk])
    assert Client(headers={"User-Agent": CHROME}).get(path).status_code == 302
    assert Activity.objects.filter(contact_id=contact_id, kind=EMAIL_CLICKED).count() == 1
    assert ContactPacing.objects.get(contact_id=contact_id).ignored_in_row == 0


def test_a_link_of_an_erased_persons_email_still_redirects_and_records_nothing(smtp, workspace):
    controller, inbox = smtp
    message, (_contact_id,) = sent_email(workspace, controller, inbox)
    delivery = Delivery.objects.get(message=message)
    path = f"/t/c/{click_token(workspace.pk, delivery.pk, SPRING)}/"
    Delivery.objects.filter(pk=delivery.pk).delete()
    answer = Client(headers={"User-Agent": CHROME}).get(path)
    assert answer.status_code == 302 and answer["Location"] == SPRING
    assert not EmailEngagement.objects.exists()


def test_the_marketing_email_page_shows_each_messages_counts(smtp, workspace, owner):
    from tests.web.conftest import url

    owner_client = Client()
    owner_client.force_login(owner)
    controller, inbox = smtp
    message, _ = sent_email(workspace, controller, inbox, number=2)
    (delivery, _) = Delivery.objects.filter(message=message).order_by("id")
    a_while_ago([delivery.pk])
    path = f"/t/c/{click_token(workspace.pk, delivery.pk, SPRING)}/"
    Client(headers={"User-Agent": CHROME}).get(path)
    Client(headers={"User-Agent": "curl/8.5"}).get(path)
    page = owner_client.get(url(workspace, "settings/marketing-email/"))
    text = re.sub(r"\s+", " ", page.content.decode())
    assert "Opened (unreliable)" in text
    assert (
        f'<td class="break">{message.name}</td> <td>2</td> <td>0</td> <td>1</td> <td>1</td>' in text
    )


def test_clicks_that_race_on_one_link_count_once(smtp, workspace):
    import threading

    from django.db import connections

    controller, inbox = smtp
    message, (contact_id,) = sent_email(workspace, controller, inbox)
    delivery = Delivery.objects.get(message=message)
    a_while_ago([delivery.pk])
    path = f"/t/c/{click_token(workspace.pk, delivery.pk, SPRING)}/"
    start = threading.Barrier(6)
    answers = []

    def click():
        try:
            start.wait()
            answers.append(Client(headers={"User-Agent": CHROME}).get(path).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [302] * 6
    assert EmailEngagement.objects.filter(kind="click").count() == 1
    assert Activity.objects.filter(contact_id=contact_id, kind=EMAIL_CLICKED).count() == 1
