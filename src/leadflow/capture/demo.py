"""Capture's part of the demo workspace: lead magnets and pop-ups (``leadflow.demo`` calls
``capture_demo_build``; the landing pages are ``leadflow.pages.demo``, which uses the
visitors and the downloads of this module).

Everything goes through capture's own services, as a marketer and the site's visitors
would: four magnets made by ``magnet_create`` (a PDF playbook, a file generated here; an
external calculator; a pool of discount codes uploaded by ``magnet_codes_add``; webinar
seats with a capacity), attached to the demo's forms by ``form_update``; the leads who
earned them submitted those forms through ``submission_accept`` (the form endpoint's
service, with a real time token), which granted the magnet (``form_magnet_grant``: the code
from the pool, the seat or the waiting list) and queued its delivery email (the worker
sends it, as it does every grant's); some of them then used their signed link (``magnet_open``: the
download counted, a ``magnet.downloaded`` activity written). Two pop-ups made by
``popup_create`` count their views, closes and conversions through ``popup_count`` (what
the pop-up script's beacon calls), each conversion of the form pop-up with its submission.

**No email of the demo can reach a person.** The visitors who submit here are at
``example.com`` (RFC 2606, null MX), as nurture's demo readers are; the demo's older
contacts (the history written set-based) earned no magnet, the magnets being newer.

Times: ``at(moment)`` (given by ``leadflow.demo``) is the window in which a service call
runs; the rows it wrote are moved to ``moment`` afterwards, so the visitors of the last
weeks did not all come in the same second.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from faker import Faker

from leadflow.capture.antispam import form_token_issue
from leadflow.capture.magnet_links import magnet_open, magnet_token
from leadflow.capture.magnets import magnet_codes_add, magnet_create
from leadflow.capture.models import Form, Magnet, MagnetGrant
from leadflow.capture.popups.models import Popup
from leadflow.capture.popups.services import popup_count, popup_create
from leadflow.capture.services import SubmissionInput, form_update, submission_accept
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace

DEMO_MAIL_DOMAIN = "example.com"
SITE = "https://www.northwind.example"
VISITOR_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
MAGNETS_AGE = dt.timedelta(days=30)
POPUPS_AGE = dt.timedelta(days=14)
# Leads who earned a magnet on its form's own page (the playbook's come from its landing
# page, leadflow.pages.demo): (form role, how many, page path).
FORM_LEADS = (("calculator", 6, "/resources/stock-out-calculator"), ("pricing", 3, "/pricing"))
POOL_CODES = 40
# The exit-intent pop-up: its views, and every how many views a visitor submitted its form.
MODAL_VIEWS = 240
MODAL_EVERY = 26
BAR_VIEWS = 320
BAR_CLOSE_EVERY = 4
# Every how many grants of a magnet the lead used the link (once; every third one twice).
OPEN_EVERY = {"file": 1, "url": 1, "code": 3, "seat": 2}
OPEN_SKIP = {"file": 4, "url": 6, "code": 0, "seat": 0}  # ... except every n-th (0: none)

# Window: a context in which a service call runs, its rows dated ``moment`` afterwards.
Window = Callable[[dt.datetime], AbstractContextManager[None]]


@dataclass
class CaptureDemo:
    """What the capture demo made (the pages' demo and the tests read it)."""

    magnets: dict[str, Magnet]
    popups: dict[str, Popup]


def playbook_pdf() -> bytes:
    """A small valid one-page PDF (the playbook): objects, a cross-reference table with
    their byte offsets, and a trailer, as PDF 1.4 describes them."""
    lines = [
        "BT /F1 24 Tf 72 720 Td (The Inventory Planning Playbook) Tj ET",
        "BT /F1 12 Tf 72 690 Td (Northwind Traders - reorder points, safety stock and "
        "lead times.) Tj ET",
        "BT /F1 12 Tf 72 670 Td (1. Count what sells: the last 90 days per item.) Tj ET",
        "BT /F1 12 Tf 72 652 Td (2. Set reorder points from lead time and demand.) Tj ET",
        "BT /F1 12 Tf 72 634 Td (3. Keep safety stock for your top sellers only.) Tj ET",
    ]
    stream = "\n".join(lines).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def visitor_fields(form: Form, faker: Faker, rnd: random.Random) -> dict[str, str]:
    """What a visitor types into ``form``: a name and an address at the demo's mail domain
    (and a last name and a company when the form asks for them)."""
    first, last = faker.first_name(), faker.last_name()
    local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
    values = {
        "email": f"{local}.{rnd.randrange(100, 999)}@{DEMO_MAIL_DOMAIN}",
        "first_name": first,
        "last_name": last,
        "company": faker.company(),
    }
    names = {field["name"] for field in form.fields}
    return {name: value for name, value in values.items() if name in names}


def visitor_input(
    form: Form, fields: dict[str, str], *, page_url: str, utm: dict[str, str], rnd: random.Random
) -> SubmissionInput:
    """The submission as the form's script sends it: the page, its campaign, and the time
    token of when the form was shown (a minute or a few before)."""
    shown = time.time() - rnd.randint(20, 300)
    return SubmissionInput(
        fields=fields,
        page_url=page_url,
        referrer="",
        utm=utm,
        user_agent=VISITOR_AGENT,
        token=form_token_issue(form, shown_at=shown),
        token_required=True,
    )


def downloads_record(magnet: Magnet, at: Window, now: dt.datetime) -> int:
    """Some of the magnet's leads used their signed link (``magnet_open``, the download
    path), a few hours after they got it (some twice, the next day); returns how many uses."""
    every, skip = OPEN_EVERY[magnet.kind], OPEN_SKIP[magnet.kind]
    grants = MagnetGrant.objects.filter(magnet=magnet).select_related("magnet").order_by("pk")
    uses = 0
    for number, grant in enumerate(grants, start=1):
        if number % every or (skip and number % skip == 0):
            continue
        for again in range(2 if number % 3 == 0 else 1):
            moment = grant.created_at + dt.timedelta(hours=1 + number % 5 + 22 * again)
            with at(min(moment, now)):
                magnet_open(key=magnet.key, token=magnet_token(grant))
            uses += 1
    return uses


def capture_demo_build(
    *,
    workspace: Workspace,
    actor: Actor,
    forms: dict[str, Form],
    rnd: random.Random,
    faker: Faker,
    at: Window,
    now: dt.datetime,
) -> CaptureDemo:
    """Build capture's demo in ``workspace`` (see the module docstring). ``forms`` are the
    demo's forms by role: playbook, calculator, pricing, webinar."""
    with at(now - MAGNETS_AGE):
        magnets = _magnets(workspace, actor, forms, rnd, now)
    for role, count, path in FORM_LEADS:
        form = Form.objects.get(pk=forms[role].pk)
        for number in range(count):
            later = dt.timedelta(days=2 + 27 * number / count, hours=rnd.random())
            moment = now - MAGNETS_AGE + later
            data = visitor_input(
                form, visitor_fields(form, faker, rnd), page_url=SITE + path, utm={}, rnd=rnd
            )
            with at(moment):
                submission_accept(form=form, data=data)
    with at(now - POPUPS_AGE):
        popups = _popups(workspace, actor, forms)
    _popup_traffic(workspace, popups, forms["pricing"], rnd, faker, at, now)
    return CaptureDemo(magnets=magnets, popups=popups)


def capture_demo_downloads(demo: CaptureDemo, at: Window, now: dt.datetime) -> None:
    """The downloads of every magnet's leads (after the pages' demo, whose visitors earned
    the playbook; their grants dated already)."""
    for magnet in demo.magnets.values():
        downloads_record(magnet, at, now)


def _magnets(workspace, actor, forms, rnd, now) -> dict[str, Magnet]:
    playbook = magnet_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "The Inventory Planning Playbook (PDF)",
            "kind": "file",
            "description": "Reorder points, safety stock and lead times, in 20 pages.",
            "active": True,
            "link_days": 7,
            "max_downloads": 5,
        },
        file=ContentFile(playbook_pdf(), name="inventory-planning-playbook.pdf"),
    )
    calculator = magnet_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Stock-out Cost Calculator (spreadsheet)",
            "kind": "url",
            "description": "A copy of the calculator in your own spreadsheet.",
            "url": f"{SITE}/tools/stock-out-calculator/copy",
        },
    )
    discount = magnet_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "20% off the first year",
            "kind": "code",
            "description": "A one-time code for the first year of any plan.",
            "single_use": True,
            "link_days": 30,
        },
    )
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    codes = {"NW20-" + "".join(rnd.choice(alphabet) for _ in range(6)) for _ in range(POOL_CODES)}
    magnet_codes_add(workspace=workspace, magnet_id=discount.pk, codes=sorted(codes), actor=actor)
    seats = magnet_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Live webinar: Cutting stock-outs in half",
            "kind": "seat",
            "description": "45 minutes with Q&A; the recording goes to everyone seated.",
            "capacity": 12,
            "event_at": (now + dt.timedelta(days=9)).replace(
                hour=16, minute=0, second=0, microsecond=0
            ),
        },
    )
    for role, magnet in (
        ("playbook", playbook),
        ("calculator", calculator),
        ("pricing", discount),
        ("webinar", seats),
    ):
        form_update(
            workspace=workspace, form_id=forms[role].pk, data={"magnet_id": magnet.pk}, actor=actor
        )
    return {"file": playbook, "url": calculator, "code": discount, "seat": seats}


def _popups(workspace, actor, forms) -> dict[str, Popup]:
    modal = popup_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Exit intent: 20% off",
            "status": "active",
            "style": "modal",
            "content": "form",
            "form_id": forms["pricing"].pk,
            "title": "Before you go: 20% off your first year",
            "body": "Leave your email and we send you a one-time code.",
            "triggers": {"exit_intent": True},
            "targeting": {
                "include": [f"{SITE}/pricing*", f"{SITE}/product/*"],
                "devices": ["desktop"],
                "audience": "anonymous",
            },
            "frequency": {"once_per_session": True, "closed_days": 14},
        },
    )
    bar = popup_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": "Retail Expo notice",
            "status": "active",
            "style": "bottom_bar",
            "content": "notice",
            "title": "Meet us at Retail Expo, stand B12",
            "body": "Three days of live demos of multi-warehouse transfers.",
            "triggers": {"time_seconds": 3},
            "frequency": {"once_per_session": True, "closed_days": 30},
        },
    )
    return {"modal": modal, "bar": bar}


def _popup_traffic(workspace, popups, pricing, rnd, faker, at, now) -> None:
    """The beacons of the pop-ups' visitors: every view, most closes, and the modal's
    conversions, each of them a submission of its form (the pop-up shows the form)."""
    modal, bar = popups["modal"], popups["bar"]
    form = Form.objects.get(pk=pricing.pk)
    for number in range(1, MODAL_VIEWS + 1):
        popup_count(workspace_id=workspace.pk, popup_id=modal.pk, kind="view")
        if number % MODAL_EVERY == 0:
            moment = now - POPUPS_AGE + dt.timedelta(days=13 * number / MODAL_VIEWS)
            data = visitor_input(
                form,
                visitor_fields(form, faker, rnd),
                page_url=f"{SITE}/pricing",
                utm={"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand"},
                rnd=rnd,
            )
            with at(moment):
                submission_accept(form=form, data=data)
            popup_count(workspace_id=workspace.pk, popup_id=modal.pk, kind="conversion")
        elif number % 7:  # most close it; the others leave the page with it open
            popup_count(workspace_id=workspace.pk, popup_id=modal.pk, kind="close")
    for number in range(1, BAR_VIEWS + 1):
        popup_count(workspace_id=workspace.pk, popup_id=bar.pk, kind="view")
        if number % BAR_CLOSE_EVERY == 0:
            popup_count(workspace_id=workspace.pk, popup_id=bar.pk, kind="close")


def capture_demo_delete(workspace: Workspace) -> None:
    """The magnets' stored files (the workspace's cascade deletes their rows, not the
    files), deleted once the transaction commits."""
    for magnet in Magnet.objects.filter(workspace=workspace).exclude(file=""):
        stored, storage = magnet.file.name, magnet.file.storage
        transaction.on_commit(lambda stored=stored, storage=storage: storage.delete(stored))


__all__ = [
    "CaptureDemo",
    "capture_demo_build",
    "capture_demo_delete",
    "capture_demo_downloads",
]
