"""Lead magnets through the public form endpoint, a real SMTP server (aiosmtpd) and the
database worker: delivery once, the signed link (altered, expired, used up, renewed),
codes unique per lead, seats within capacity under concurrent submissions, double opt-in."""

import re
import threading
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client

from leadflow.capture import magnet_links, magnets, services
from leadflow.capture.models import MagnetGrant, SeatStatus
from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed
from leadflow.scoring.services.engagement import activity_kinds

from .conftest import good_fields
from .test_notifications import run_worker, smtp, text_of  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)  # the worker runs what was committed

PDF = b"%PDF-1.4\n% a small guide\n" + b"x" * 200


def make_magnet(workspace, owner_actor, **data):
    upload = None
    if data.get("kind", "file") == "file":
        upload = SimpleUploadedFile("guide.pdf", PDF, content_type="application/pdf")
    return magnets.magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "The pricing guide", "kind": "file", **data},
        file=upload,
    )


def offer(lead_form, magnet, **changes):
    services.form_update(
        workspace=lead_form.workspace,
        form_id=lead_form.pk,
        actor=Actor.system(),
        data={"magnet_id": magnet.pk, **changes},
    )


def link_in(message) -> str:
    return re.search(r"http://testserver(/m/\S+/)", text_of(message)).group(1)


def test_a_file_reaches_the_lead_once_and_each_download_counts(
    smtp,  # noqa: F811
    public,
    lead_form,
    workspace,
    owner_actor,
):
    magnet = make_magnet(workspace, owner_actor, max_downloads=2)
    offer(lead_form, magnet)
    submission_id = uuid.uuid4()
    first = public.submit(submission_id=submission_id)
    assert first.status_code == 201
    shown = first.json()["magnet"]
    assert shown["name"] == "The pricing guide" and shown["url"].startswith("http://testserver/m/")
    # A retry of the same submission, then the same lead again: one grant, one email.
    assert public.submit(submission_id=submission_id).status_code == 200
    assert public.submit().status_code == 201
    run_worker()
    run_worker()
    (message,) = smtp.to("jane@initech.com")
    assert message["Subject"] == "Here is The pricing guide"
    grant = MagnetGrant.objects.get()
    assert grant.delivered_at is not None

    link = link_in(message)
    client = Client()
    assert client.head(link).status_code == 200  # a link checker counts nothing
    response = client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith('attachment; filename="guide.pdf"')
    downloads = Activity.objects.filter(kind="magnet.downloaded", contact=grant.contact)
    assert "magnet.downloaded" in activity_kinds()  # engagement rules can score it
    assert list(downloads.values_list("data", flat=True)) == [
        {"magnet_id": magnet.pk, "name": "The pricing guide"}
    ]
    assert client.get(link).status_code == 200
    # Used up: the page offers a fresh link (a button: no address asked, none shown).
    used_up = client.get(link)
    assert used_up.status_code == 410
    page = used_up.content.decode()
    assert "Send me a fresh link" in page and "jane@initech.com" not in page
    assert downloads.count() == 2

    # An altered link finds nothing, counts nothing, and asks for the address instead.
    token = link.split("/")[3]
    altered = client.get(link.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB")))
    assert altered.status_code == 404 and 'name="email"' in altered.content.decode()
    assert downloads.count() == 2

    # A fresh link asked for by address: the old one stops, the new one works.
    renewed = client.post(f"/m/{magnet.key}/renew", {"email": "JANE@initech.com"})
    assert renewed.status_code == 200 and "on its way" in renewed.content.decode()
    client.post(f"/m/{magnet.key}/renew", {"email": "nobody@example.com"})  # same answer
    run_worker()
    fresh_message = smtp.to("jane@initech.com")[-1]
    assert fresh_message["Subject"] == "Your new link: The pricing guide"
    fresh = link_in(fresh_message)
    assert fresh != link and client.get(fresh).status_code == 200
    assert client.get(link).status_code == 410
    # Asking again at once sends nothing more (one fresh link per grant per 10 minutes).
    client.post(f"/m/{magnet.key}/renew", {"email": "jane@initech.com"})
    run_worker()
    assert len(smtp.to("jane@initech.com")) == 2
    assert MagnetGrant.objects.get().downloads == 3


def test_an_expired_link_offers_a_fresh_one(public, lead_form, workspace, owner_actor):
    magnet = make_magnet(workspace, owner_actor, kind="url", url="https://acme.example/course")
    offer(lead_form, magnet)
    public.submit()
    grant = MagnetGrant.objects.get()
    eight_days_ago = time.time() - 8 * 24 * 3600
    import django.core.signing as signing

    real_time = signing.time.time
    signing.time.time = lambda: eight_days_ago
    try:
        old = magnet_links.magnet_link(grant, "")
    finally:
        signing.time.time = real_time
    client = Client()
    expired = client.get(old)
    assert expired.status_code == 410 and "Send me a fresh link" in expired.content.decode()
    assert not Activity.objects.filter(kind="magnet.downloaded").exists()
    current = client.get(magnet_links.magnet_link(grant, ""))
    assert current.status_code == 302 and current["Location"] == "https://acme.example/course"
    # The expired link's own button renews it.
    token = old.split("/")[3]
    assert client.post(f"/m/{magnet.key}/renew", {"token": token}).status_code == 200
    grant.refresh_from_db()
    assert grant.link_serial == 2 and grant.link_sent_at is not None


def test_codes_are_unique_per_lead_and_single_use(public, lead_form, workspace, owner_actor, api):
    pool = make_magnet(workspace, owner_actor, kind="code", single_use=True)
    assert magnets.magnet_codes_add(
        workspace=workspace,
        magnet_id=pool.pk,
        codes=["SAVE-1", "SAVE-2", "SAVE-1"],
        actor=owner_actor,
    ) == (2, 1)
    offer(lead_form, pool)
    jane = public.submit(submission_id=uuid.uuid4()).json()["magnet"]["code"]
    assert public.submit().json()["magnet"]["code"] == jane  # the same lead: the same code
    john = public.submit(good_fields(email="john@initech.com")).json()["magnet"]["code"]
    assert {jane, john} == {"SAVE-1", "SAVE-2"}
    # The pool is empty: the lead still arrives, without a code.
    late = public.submit(good_fields(email="late@initech.com"))
    assert late.status_code == 201 and late.json()["magnet"]["code"] is None

    redeem = f"/capture/magnets/{pool.pk}/codes/redeem"
    assert api.post(redeem, {"code": jane}).status_code == 200
    assert api.post(redeem, {"code": jane}).status_code == 409
    assert api.post(redeem, {"code": "NOPE"}).status_code == 404

    pattern = make_magnet(workspace, owner_actor, kind="code", code_pattern="TRIAL-XXXXXX")
    codes = {
        magnets.magnet_grant(magnet=pattern, contact_id=contact.pk, submission_id=None).code
        for contact in Contact.objects.all()
    }
    assert len(codes) == 3 and all(re.fullmatch(r"TRIAL-[A-Z2-9]{6}", code) for code in codes)


def test_seats_never_exceed_the_capacity_under_concurrent_leads(workspace, owner_actor):
    magnet = make_magnet(workspace, owner_actor, kind="seat", capacity=3)
    contacts = [
        contact_upsert(
            workspace=workspace, actor=owner_actor, data={"email": f"p{n}@example.com"}
        ).contact.pk
        for n in range(8)
    ]
    start = threading.Barrier(len(contacts))
    failures: list[BaseException] = []

    def lead(contact_id: int) -> None:
        try:
            start.wait()
            with transaction.atomic():
                magnets.magnet_grant(magnet=magnet, contact_id=contact_id, submission_id=None)
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=lead, args=(pk,)) for pk in contacts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    seats = list(MagnetGrant.objects.values_list("seat", flat=True))
    assert seats.count(SeatStatus.SEATED) == 3 and seats.count(SeatStatus.WAITING) == 5
    magnet.refresh_from_db()
    assert magnet.seats_taken == 3

    # Two more seats: the first two on the waiting list get them.
    waiting = list(
        MagnetGrant.objects.filter(seat=SeatStatus.WAITING)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    magnets.magnet_update(
        workspace=workspace, magnet_id=magnet.pk, data={"capacity": 5}, actor=owner_actor
    )
    seated = set(MagnetGrant.objects.filter(seat=SeatStatus.SEATED).values_list("pk", flat=True))
    assert set(waiting[:2]) <= seated and len(seated) == 5
    with pytest.raises(ValidationFailed):
        magnets.magnet_update(
            workspace=workspace, magnet_id=magnet.pk, data={"capacity": 4}, actor=owner_actor
        )


def test_a_double_opt_in_form_delivers_after_confirmation(
    smtp,  # noqa: F811
    public,
    lead_form,
    workspace,
    owner_actor,
):
    magnet = make_magnet(workspace, owner_actor)
    offer(lead_form, magnet, double_opt_in=True)
    answer = public.submit().json()["magnet"]
    assert answer["pending_confirmation"] is True and answer["url"] is None
    run_worker()
    (confirm,) = smtp.to("jane@initech.com")  # the confirmation only
    assert not MagnetGrant.objects.exists()
    link = re.search(r"http://testserver(/f/confirm/\S+/)", text_of(confirm)).group(1)
    client = Client()
    page = client.get(link)
    assert "Download The pricing guide" in page.content.decode()
    client.get(link)  # clicked twice
    run_worker()
    assert [m["Subject"] for m in smtp.to("jane@initech.com")] == [
        confirm["Subject"],
        "Here is The pricing guide",
    ]
    # Someone else typing her address sees no link: it comes by email, after confirming.
    again = public.submit().json()["magnet"]
    assert again["pending_confirmation"] is True and again["url"] is None


def test_uploads_are_checked(workspace, owner_actor):
    def upload(name, body):
        return SimpleUploadedFile(name, body)

    for name, body, message in (
        ("guide.exe", b"MZ", "Upload one of"),
        ("guide.pdf", b"PK\x03\x04 zip", "not a .pdf"),
        ("guide.pdf", b"", "empty"),
    ):
        with pytest.raises(ValidationFailed) as failure:
            magnets.magnet_create(
                workspace=workspace,
                actor=owner_actor,
                data={"name": "x", "kind": "file"},
                file=upload(name, body),
            )
        assert message in failure.value.errors[0].message


def test_a_form_offers_a_magnet_of_its_own_workspace_only(
    api, lead_form, workspace, other_workspace, owner_actor
):
    ours = make_magnet(workspace, owner_actor, kind="url", url="https://acme.example/a")
    theirs = make_magnet(other_workspace, owner_actor, kind="url", url="https://other.example")
    answer = api.patch(f"/forms/{lead_form.pk}", {"magnet_id": ours.pk})
    assert answer.status_code == 200 and answer.json()["magnet_id"] == ours.pk
    refused = api.patch(f"/forms/{lead_form.pk}", {"magnet_id": theirs.pk})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["magnet_id"]
    assert api.patch(f"/forms/{lead_form.pk}", {"magnet_id": None}).json()["magnet_id"] is None
    made = api.post("/capture/magnets", {"name": "Checklist", "kind": "file"})
    assert made.status_code == 201 and made.json()["active"] is False  # until its file
    assert api.get(f"/capture/magnets/{theirs.pk}").status_code == 404


def test_a_merge_keeps_one_grant_per_magnet_and_gives_back_the_seat(workspace, owner_actor):
    from leadflow.contacts.services import contact_merge

    seats = make_magnet(workspace, owner_actor, name="Webinar", kind="seat", capacity=2)
    guide = make_magnet(workspace, owner_actor, kind="url", url="https://acme.example/g")
    jane, janet, third = (
        contact_upsert(workspace=workspace, actor=owner_actor, data={"email": email}).contact
        for email in ("jane@initech.com", "jane.doe@initech.com", "ann@initech.com")
    )
    for contact in (jane, janet, third):  # the third waits
        magnets.magnet_grant(magnet=seats, contact_id=contact.pk, submission_id=None)
    magnets.magnet_grant(magnet=guide, contact_id=janet.pk, submission_id=None)
    contact_merge(workspace=workspace, primary_id=jane.pk, secondary_id=janet.pk, actor=owner_actor)
    assert sorted(
        MagnetGrant.objects.filter(contact=jane).values_list("magnet__name", "seat")
    ) == sorted([(seats.name, SeatStatus.SEATED), (guide.name, SeatStatus.NONE)])
    assert MagnetGrant.objects.get(contact=third).seat == SeatStatus.SEATED  # seated now
    seats.refresh_from_db()
    assert seats.seats_taken == 2
