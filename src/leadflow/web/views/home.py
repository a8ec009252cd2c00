"""The workspace's home page: what to do now, by role (docs/home.md).

- "My work" (sales members, and anyone who owns leads): new leads given to me since my last
  visit (or today), my overdue and today's follow-ups, my hot leads, my deals closing this
  month, the leads waiting in my teams' queues, my overdue first touches.
- Marketing (marketers, owners, admins): today's new leads by channel, form conversion over
  7 days, MQLs waiting for sales, imports in progress.
- The team (owners, admins): speed to lead over 7 days and the open pipeline, weighted.
- A viewer: a read-only summary of counts.
- Owners and admins of a new workspace: a getting-started checklist ticked from the data.

Every count links to the list it counts, and is computed from the same filter as that list
(a contacts count from the condition tree its link carries in ``conditions``), so a number
and its list never disagree. Each card is at most one query; contact counts are capped
(``count_capped``). The view only composes the apps' selectors.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from leadflow.capture import selectors as capture_selectors
from leadflow.contacts import selectors as contact_selectors
from leadflow.contacts.conditions import Condition, Group, Node, tree_to_json
from leadflow.contacts.models import Contact, LifecycleStage, Temperature
from leadflow.core import selectors as core_selectors
from leadflow.core import services as core_services
from leadflow.core.models import HomeState, Role, Workspace
from leadflow.deals import selectors as deal_selectors
from leadflow.deals.models import DealStatus
from leadflow.imports import selectors as import_selectors
from leadflow.sales import selectors as sales_selectors
from leadflow.tracking import selectors as tracking_selectors
from leadflow.tracking.models import Channel
from leadflow.web.access import workspace_view
from leadflow.web.conditions_form import tree_param
from leadflow.web.views.common import query_with, render_page
from leadflow.web.views.speed import duration
from leadflow.web.views.tracking import report_range

TEAM_ROLES = (Role.OWNER, Role.ADMIN)
MARKETING_ROLES = (Role.OWNER, Role.ADMIN, Role.MARKETER)
CONVERSION_DAYS = 7
SPEED_PRESET = "7"


@dataclass
class Tile:
    """One count on the home page and the list it counts."""

    key: str
    label: str
    value: int
    url: str
    capped: bool = False
    tone: str = ""  # "alert": a count above zero asks for action now


def _open_stages() -> Condition:
    return Condition("lifecycle_stage", "in", [str(s) for s in sales_selectors.OPEN_STAGES])


def _mine(*conditions: Node) -> Group:
    return Group("all", (Condition("owner", "eq", "me"), *conditions))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _contacts_url(workspace: Workspace, tree: Node) -> str:
    query = query_with({"conditions": tree_param(tree_to_json(tree))})
    return f"{reverse('contact_list', args=[workspace.slug])}?{query}"


def _contacts_tile(request: HttpRequest, key: str, label: str, tree: Node, **extra) -> Tile:
    """A contacts count and its link, from the one tree (one capped query)."""
    queryset = contact_selectors.contact_list(request.workspace, request.actor, None, tree)
    value, capped = contact_selectors.count_capped(queryset)
    url = _contacts_url(request.workspace, tree)
    return Tile(key, label, value, url, capped, **extra)


def _url(request: HttpRequest, name: str, **params) -> str:
    base = reverse(name, args=[request.workspace.slug])
    query = query_with({key: str(value) for key, value in params.items()})
    return f"{base}?{query}" if query else base


# --- the blocks ---------------------------------------------------------------------------


def _my_work(request: HttpRequest, *, since: dt.datetime, now, zone, month: str) -> dict:
    workspace, actor, user = request.workspace, request.actor, request.user
    counts = sales_selectors.followup_counts(
        workspace, actor, sales_selectors.FollowUpFilters(assignee_id=user.pk), now=now, zone=zone
    )
    deal_filters = {"owner": str(user.pk), "status": DealStatus.OPEN, "close_month": month}
    closing, closing_capped = contact_selectors.count_capped(
        deal_selectors.deal_list(workspace, actor, deal_filters)
    )
    tiles = [
        _contacts_tile(
            request,
            "new",
            "New leads for me",
            _mine(Condition("assigned_at", "gte", _iso(since))),
        ),
        Tile(
            "followups_overdue",
            "Follow-ups overdue",
            counts["overdue"],
            _url(request, "followup_list", due="overdue"),
            tone="alert",
        ),
        Tile(
            "followups_today",
            "Follow-ups due today",
            counts["today"],
            _url(request, "followup_list", due="today"),
        ),
        _contacts_tile(
            request,
            "hot",
            "My hot leads",
            _mine(Condition("temperature", "eq", Temperature.HOT.value), _open_stages()),
        ),
        Tile(
            "deals_closing",
            "My deals closing this month",
            closing,
            _url(request, "deal_list", **deal_filters),
            closing_capped,
        ),
        _contacts_tile(
            request,
            "first_touch_overdue",
            "First touches overdue",
            _mine(Condition("first_touch_overdue", "eq", True)),
            tone="alert",
        ),
        _contacts_tile(request, "open", "My open leads", _mine(_open_stages())),
    ]
    queues = [
        Tile(f"queue_{team.pk}", team.name, team.waiting, _url(request, "team_queue", team=team.pk))
        for team in sales_selectors.member_queue_counts(workspace, request.membership)
    ]
    return {"tiles": tiles, "queues": queues, "since": since}


def _today_by_channel(request: HttpRequest, day_start: dt.datetime) -> dict:
    today = Condition("created_at", "gte", _iso(day_start))
    queryset = contact_selectors.contact_list(request.workspace, request.actor, None, today)
    rows = (
        queryset.order_by()
        .values_list("first_touch_channel")
        .annotate(n=Count("pk"))
        .order_by("-n", "first_touch_channel")
    )
    channels = []
    for channel, count in rows:
        if channel:
            label = Channel(channel).label if channel in Channel.values else channel
            tree = Group("all", (today, Condition("first_touch_channel", "eq", channel)))
        else:
            label = "No channel known"
            tree = Group("all", (today, Condition("first_touch_channel", "is_empty")))
        channels.append(
            Tile(f"channel_{channel}", label, count, _contacts_url(request.workspace, tree))
        )
    return {
        "channels": channels,
        "total": sum(tile.value for tile in channels),
        "url": _contacts_url(request.workspace, today),
    }


def _marketing(request: HttpRequest, *, day_start: dt.datetime, now: dt.datetime) -> dict:
    workspace = request.workspace
    mql = _contacts_tile(
        request, "mql", "MQLs waiting for sales", Condition("lifecycle_stage", "eq", "mql")
    )
    mql.url = _url(request, "mql_queue")
    forms = capture_selectors.form_conversions_top(
        workspace, since=now - dt.timedelta(days=CONVERSION_DAYS)
    )
    imports = list(import_selectors.imports_in_progress(workspace)[:5])
    for job in imports:
        job.percent = round(100 * job.rows_done / job.total_rows) if job.total_rows else None
    return {
        "today": _today_by_channel(request, day_start),
        "mql": mql,
        "forms": forms,
        "conversion_days": CONVERSION_DAYS,
        "imports": imports,
    }


def _team(request: HttpRequest) -> dict:
    workspace, actor = request.workspace, request.actor
    period, _ = report_range({"range": SPEED_PRESET}, timezone.localdate())
    report = sales_selectors.speed_to_lead_report(
        workspace, actor, since=period.start, until=period.end, group_by="hour"
    )
    total = report.total
    share = total.share_within_deadline
    return {
        "speed": {
            "leads": total.leads,
            "median": duration(total.median_seconds),
            "p90": duration(total.p90_seconds),
            "share": None if share is None else round(100 * share),
            "untouched": total.untouched,
            "url": _url(request, "report_speed_to_lead", range=SPEED_PRESET),
        },
        "pipeline": deal_selectors.open_pipeline_totals(workspace, actor),
        "pipeline_url": _url(request, "deal_list", status=DealStatus.OPEN),
        "forecast_url": _url(request, "deal_forecast"),
    }


def _summary(request: HttpRequest, *, day_start: dt.datetime) -> list[Tile]:
    workspace, actor = request.workspace, request.actor
    deals, deals_capped = contact_selectors.count_capped(
        deal_selectors.deal_list(workspace, actor, {"status": DealStatus.OPEN})
    )
    contacts = contact_selectors.contact_list(workspace, actor)
    total, total_capped = contact_selectors.count_capped(contacts)
    return [
        Tile("contacts", "Contacts", total, _url(request, "contact_list"), total_capped),
        _contacts_tile(
            request, "today", "New today", Condition("created_at", "gte", _iso(day_start))
        ),
        _contacts_tile(
            request,
            "mql",
            "MQLs",
            Condition("lifecycle_stage", "eq", LifecycleStage.MQL.value),
        ),
        Tile("deals", "Open deals", deals, _url(request, "deal_list", status="open"), deals_capped),
    ]


@dataclass
class ChecklistItem:
    key: str
    label: str
    help: str
    done: bool
    url: str


def checklist_items(request: HttpRequest) -> list[ChecklistItem]:
    """The getting-started steps, each ticked from the data (one query for all five)."""
    workspace = request.workspace
    found = (
        Workspace.objects.filter(pk=workspace.pk)
        .annotate(
            tracker=Exists(tracking_selectors.tracker_events(workspace)),
            form=Exists(capture_selectors.form_list(workspace)),
            imported=Exists(import_selectors.imports_finished(workspace)),
            team=Exists(core_selectors.member_list(workspace).exclude(user_id=request.user.pk)),
            routing=Exists(sales_selectors.rule_list(workspace).filter(enabled=True)),
        )
        .values("tracker", "form", "imported", "team", "routing")
        .get()
    )

    def url(name: str) -> str:
        return reverse(name, args=[workspace.slug])

    return [
        ChecklistItem(
            "tracker",
            "Install the tracker",
            "Paste the tracking snippet on your site; ticks at its first event.",
            found["tracker"],
            url("settings_tracking"),
        ),
        ChecklistItem(
            "form",
            "Build a form",
            "A lead form to embed on your site or share as a page.",
            found["form"],
            url("form_create"),
        ),
        ChecklistItem(
            "import",
            "Import a list",
            "Bring in the contacts you already have from a CSV or Excel file.",
            found["imported"],
            url("import_list"),
        ),
        ChecklistItem(
            "team",
            "Invite the team",
            "Add the marketers and salespeople who work the leads.",
            found["team"],
            url("settings_members"),
        ),
        ChecklistItem(
            "routing",
            "Set routing",
            "An assignment rule gives each new lead an owner at once.",
            found["routing"],
            url("routing_settings"),
        ),
    ]


def _owns_leads(request: HttpRequest) -> bool:
    return Contact.objects.filter(workspace=request.workspace, owner=request.user).exists()


# --- the pages ----------------------------------------------------------------------------


@workspace_view("read")
@require_safe
def workspace_home(request: HttpRequest) -> HttpResponse:
    """The member's home: the blocks their role is given (see the module), each count a
    link to its list."""
    workspace, membership, user = request.workspace, request.membership, request.user
    role = membership.role
    now = timezone.now()
    zone, zone_name = sales_selectors.assignee_time_zone(workspace, user.pk, own=user.time_zone)
    day_start, _ = sales_selectors.day_bounds(now, zone)
    state: HomeState = core_services.home_visit_record(
        membership=membership, day_start=day_start, now=now
    )
    context: dict = {"section": "home", "role": role, "zone_name": zone_name}
    if role in TEAM_ROLES and state.checklist_dismissed_at is None:
        items = checklist_items(request)
        if not all(item.done for item in items):
            context["checklist"] = items
            context["checklist_done"] = sum(item.done for item in items)
    if role == Role.SALES or (membership.can("write") and _owns_leads(request)):
        month = now.astimezone(zone).strftime("%Y-%m")
        context["my_work"] = _my_work(
            request, since=state.new_since(day_start), now=now, zone=zone, month=month
        )
    if role in TEAM_ROLES:
        context["team"] = _team(request)
    if role in MARKETING_ROLES:
        context["marketing"] = _marketing(request, day_start=day_start, now=now)
    if role == Role.VIEWER:
        context["summary"] = _summary(request, day_start=day_start)
    return render_page(request, "web/home.html", context)


@workspace_view("read")
@require_POST
def home_checklist_dismiss(request: HttpRequest) -> HttpResponse:
    """Hide the getting-started checklist on this member's home."""
    core_services.home_checklist_dismiss(membership=request.membership)
    return redirect("workspace_home", request.workspace.slug)
