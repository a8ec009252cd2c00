"""The demo's lead magnets, landing pages and pop-ups (``leadflow.capture.demo``,
``leadflow.pages.demo``): they exist as the app lists them, and every figure the app shows
of them is what was recorded through the real services (grants, downloads and their
activities, codes, seats, page views and conversions, pop-up beacons)."""

from collections import Counter

import pytest
from django.db.models import Sum

from leadflow import demo
from leadflow.capture.demo import MODAL_VIEWS, playbook_pdf
from leadflow.capture.magnet_kinds import MAGNET_DOWNLOADED
from leadflow.capture.models import Magnet, MagnetCode, MagnetGrant, Submission
from leadflow.capture.popups.models import Popup
from leadflow.capture.selectors import magnet_list
from leadflow.chat.demo import VISITS
from leadflow.chat.models import Conversation, ConversationStatus, Flow, KnowledgeEntry, Message
from leadflow.contacts.models import Activity, Contact
from leadflow.pages.counters import views_discard, views_pending
from leadflow.pages.models import Conversion, Page, Published
from leadflow.pages.selectors import page_stats


@pytest.fixture
def onsite(db, settings, tmp_path):
    """The demo as `leadflow demo` builds its on-site capture (at the real time)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "magnets": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "magnets")},
        },
    }
    views_discard()
    return demo.demo_build(contacts=40, seed=7, onsite=True)


def test_the_minimal_pdf_is_a_valid_pdf():
    """Its cross-reference table points at its objects, as a reader follows it."""
    pdf = playbook_pdf()
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[xref:].startswith(b"xref\n0 6\n")
    offsets = [int(line[:10]) for line in pdf[xref:].split(b"\n")[3:8]]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)


def magnets_check(onsite):
    magnets = {magnet.kind: magnet for magnet in magnet_list(onsite)}
    assert set(magnets) == {"file", "url", "code", "seat"}
    assert all(magnet.forms.exists() for magnet in magnets.values()), "each on a demo form"
    downloaded = Counter(
        Activity.objects.filter(workspace=onsite, kind=MAGNET_DOWNLOADED).values_list(
            "data__magnet_id", flat=True
        )
    )
    for magnet in magnets.values():
        grants = MagnetGrant.objects.filter(magnet=magnet)
        assert magnet.granted == grants.count() > 0
        uses = grants.aggregate(n=Sum("downloads"))["n"]
        assert uses == downloaded[magnet.pk] > 0, magnet.name
        # Every grant came with an accepted submission of the magnet's form, by its lead.
        form_ids = set(magnet.forms.values_list("pk", flat=True))
        for grant in grants.select_related("submission", "contact"):
            assert grant.submission.form_id in form_ids
            assert grant.submission.contact_id == grant.contact_id
            assert grant.submission.status == "accepted"
            assert grant.contact.email.endswith("@example.com")  # the mail reaches nobody
            assert grant.created_at <= grant.submission.created_at.replace(microsecond=999999)
    # The file is a PDF in the magnets' storage.
    playbook = Magnet.objects.get(pk=magnets["file"].pk)
    with playbook.file.open("rb") as stored:
        assert stored.read() == playbook_pdf()
    assert (playbook.content_type, playbook.file_size) == ("application/pdf", len(playbook_pdf()))
    # Codes: one pool code per lead, each given once.
    codes = MagnetGrant.objects.filter(magnet=magnets["code"]).values_list("code", flat=True)
    given = MagnetCode.objects.filter(magnet=magnets["code"], given_at__isnull=False)
    assert sorted(codes) == sorted(given.values_list("code", flat=True))
    assert len(set(codes)) == len(codes) and all(codes)
    assert MagnetCode.objects.filter(magnet=magnets["code"], given_at__isnull=True).exists()
    # Seats: full at the capacity, the later leads on the waiting list.
    seat = Magnet.objects.get(pk=magnets["seat"].pk)
    seats = Counter(MagnetGrant.objects.filter(magnet=seat).values_list("seat", flat=True))
    assert seat.seats_taken == seat.capacity == seats["seated"] == 12
    assert seats["waiting"] == 2


def pages_check(onsite):
    assert views_pending() == {}, "every counted view is written"
    pages = {page.slug: page for page in Page.objects.filter(workspace=onsite)}
    assert set(pages) == {"inventory-playbook", "webinar-stock-outs"}
    assert Published.objects.filter(page__in=pages.values()).count() == 2
    playbook = pages["inventory-playbook"]
    stats = page_stats(onsite, playbook)
    assert [row.variant.label for row in stats.variants] == ["A", "B"]
    for row in stats.variants:
        conversions = Conversion.objects.filter(page=playbook, variant=row.variant)
        assert row.conversions == conversions.count() > 0
        assert row.views >= 100 > row.conversions
        # Each conversion is an accepted submission of the page's form, from the page's
        # address with the campaign's UTM, which the lead's first touch kept.
        for conversion in conversions.select_related("submission__contact"):
            submission = conversion.submission
            assert submission.form_id == playbook.form_id
            assert f"/lp/demo/{playbook.slug}/?utm_source=" in submission.page_url
            source = submission.utm["utm_source"]
            assert submission.contact.first_touch_source == source
    assert stats.verdict.winner == "B", stats.verdict
    webinar = page_stats(onsite, pages["webinar-stock-outs"])
    assert webinar.variants[0].conversions == 14
    grants = MagnetGrant.objects.filter(magnet__forms=pages["webinar-stock-outs"].form_id)
    assert grants.count() == 14


def popups_check(onsite):
    popups = {popup.style: popup for popup in Popup.objects.filter(workspace=onsite)}
    modal, bar = popups["modal"], popups["bottom_bar"]
    assert (modal.content, bar.content) == ("form", "notice")
    assert modal.triggers["exit_intent"] and modal.status == bar.status == "active"
    assert modal.views == MODAL_VIEWS and modal.closes + modal.conversions < modal.views
    # A conversion is a submission of the pop-up's form (the campaign of its pages).
    from_popup = Submission.objects.filter(
        form=modal.form, status="accepted", utm__utm_campaign="brand"
    )
    assert modal.conversions == from_popup.count() > 0
    assert bar.conversions == 0 and 0 < bar.closes < bar.views  # a notice converts nothing


def chats_check(onsite):
    """Each demo visitor's conversation holds what the visitor said and what the services
    answered: a lead for each email given (its answers as chat.answered activities), none
    for the others, the left ones marked by the idle pass, the questions answered from the
    knowledge base with their citations."""
    flow = Flow.objects.get(workspace=onsite)
    assert flow.status == "active" and flow.current_version is not None
    conversations = list(Conversation.objects.filter(workspace=onsite).order_by("pk"))
    assert len(conversations) == len(VISITS)
    for conversation, (_path, said) in zip(conversations, VISITS, strict=True):
        visitor = Message.objects.filter(conversation=conversation, author="visitor")
        assert visitor.count() == len(said)
        gave_email = "{email}" in said
        assert (conversation.contact_id is not None) == gave_email
        if gave_email:
            answered = Activity.objects.filter(
                workspace=onsite, contact=conversation.contact, kind="chat.answered"
            )
            assert answered.count() == len(said) - 1  # every answer after the choice
        if conversation.status == ConversationStatus.BOT and conversation.current_step != "more":
            assert conversation.left_at_step == conversation.current_step
    cited = Message.objects.filter(workspace=onsite, author="bot", payload__has_key="citation")
    titles = {message.payload["citation"]["title"] for message in cited}
    assert len(cited) == 2 and titles <= set(KnowledgeEntry.objects.values_list("title", flat=True))
    waiting = [c for c in conversations if c.status == ConversationStatus.WAITING]
    assert len(waiting) == sum(1 for _p, said in VISITS if len(said) == 4 and "{email}" in said)


def test_the_demo_shows_what_was_recorded_and_reset_deletes_it(
    onsite, django_capture_on_commit_callbacks
):
    """One build (it takes seconds): the magnets' figures are the recorded grants and
    downloads, the pages' the recorded views and conversions, the pop-ups' the beacons
    and submissions; deleting the demo deletes them, the magnet's file too."""
    magnets_check(onsite)
    pages_check(onsite)
    popups_check(onsite)
    chats_check(onsite)
    stored = Magnet.objects.get(workspace=onsite, kind="file").file
    assert stored.storage.exists(stored.name)
    with django_capture_on_commit_callbacks(execute=True):
        assert demo.demo_delete()
    assert not stored.storage.exists(stored.name)
    for model in (Magnet, MagnetGrant, Popup, Page, Conversion, Submission, Conversation, Flow):
        assert not model.objects.exists(), model
    assert not Contact.objects.exists()
