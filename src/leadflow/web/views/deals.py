"""Deals: the board of a pipeline (drag and drop, keyboard moves), the list with filters
and keyset pages, a deal's page (fields, edit, win / lose / reopen, history and timeline),
a lead's conversion from the contact page, and the forecast.

Ids in URLs are looked up among the deals the member sees (``deals.selectors``): another
workspace's deal, or one a salesperson limited to own leads may not see, answers 404.
Writes go through ``deals.services``.
"""

from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.contacts.models import Activity
from leadflow.contacts.selectors import cursor_paginate
from leadflow.core import selectors as core_selectors
from leadflow.core.errors import Conflict, NotFound, ValidationFailed
from leadflow.core.selectors import LEAD_OWNER_PERMISSION
from leadflow.deals import selectors, services
from leadflow.deals.models import Deal, DealStatus, Pipeline, StageKind
from leadflow.web import charts
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, error_text, non_field_errors
from leadflow.web.timeline import Names, timeline_entries
from leadflow.web.views.common import PAGE_SIZE, query_with, render_page

DEAL_FORM_FIELDS = (
    "title",
    "amount",
    "currency",
    "expected_close_date",
    "owner_id",
    "probability",
    "stage_id",
)
LIST_FILTERS = ("pipeline", "stage", "owner", "status", "close_month", "q")


def money(totals: dict[str, Decimal]) -> str:
    """Amounts per currency as one line: "12,500.00 USD · 300.00 EUR" (0 when none)."""
    if not totals:
        return "0"
    return " · ".join(f"{amount:,.2f} {currency}" for currency, amount in sorted(totals.items()))


def duration(seconds: float | None) -> str:
    """A stay in a stage in words: "3 days", "5 hours", "12 minutes" ("" when unknown)."""
    if seconds is None:
        return ""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = round(seconds / size, 1) if size == 86400 else int(seconds // size)
            count = int(count) if count == int(count) else count
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "under a minute"


def _pipeline(request: HttpRequest) -> Pipeline:
    wanted = request.GET.get("pipeline") or request.POST.get("pipeline")
    default = services.pipeline_default_ensure(request.workspace)
    if wanted and wanted.isdigit():
        return selectors.pipeline_get(request.workspace, int(wanted))
    return selectors.pipeline_get(request.workspace, default.pk)


# --- the board ------------------------------------------------------------------------------


@workspace_view("read")
@require_safe
def deal_board(request: HttpRequest) -> HttpResponse:
    """The pipeline's open stages as columns of cards, with count and total per column."""
    pipeline = _pipeline(request)
    columns = selectors.board(request.workspace, request.actor, pipeline)
    for column in columns:
        column.total_text = money(column.totals)
    context = {
        "pipelines": list(selectors.pipeline_list(request.workspace)),
        "pipeline": pipeline,
        "columns": columns,
        "open_stages": [column.stage for column in columns],
    }
    return render_page(request, "web/deals/board.html", context)


@workspace_view("write")
@require_POST
def deal_move(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Move a card (the board's drop or its Move form). Asked for JSON (the board's
    script) it answers the new column counts and totals, or an error with 4xx, and the
    script puts the card back; a plain form post comes back to the board with a message."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        stage_id = int(request.POST.get("stage_id", ""))
        deal = services.deal_move_stage(
            workspace=request.workspace, actor=request.actor, deal_id=deal_id, stage_id=stage_id
        )
    except ValueError:
        failure = ValidationFailed([])
        return _move_refused(request, wants_json, "Choose a stage.", failure, 422)
    except ValidationFailed as failure:
        text = " ".join(error.message for error in failure.errors) or failure.detail
        return _move_refused(request, wants_json, text, failure, 422)
    except NotFound:
        return _move_refused(request, wants_json, "This deal is not here any more.", None, 404)
    if not wants_json:
        messages.success(request, f"Moved “{deal.title}” to {deal.stage.name}.")
        return redirect(
            f"{reverse('deal_board', args=[request.workspace.slug])}?pipeline={deal.pipeline_id}"
        )
    columns = selectors.board(request.workspace, request.actor, deal.pipeline)
    return JsonResponse(
        {
            "stage": deal.stage.name,
            "columns": {
                str(column.stage.pk): {"count": column.count, "total": money(column.totals)}
                for column in columns
            },
        }
    )


def _move_refused(request, wants_json: bool, text: str, failure, status: int) -> HttpResponse:
    if wants_json:
        return JsonResponse({"error": text}, status=status)
    messages.error(request, f"Not moved: {text}")
    return redirect("deal_board", request.workspace.slug)


# --- the list -------------------------------------------------------------------------------


@workspace_view("read")
@require_safe
def deal_list(request: HttpRequest) -> HttpResponse:
    """Deals with filters (pipeline, stage, owner, status, close month, words of the
    title), newest first, one keyset page at a time."""
    workspace, actor = request.workspace, request.actor
    services.pipeline_default_ensure(workspace)
    params = {name: request.GET.get(name, "").strip()[:100] for name in LIST_FILTERS}
    error = ""
    try:
        deals = selectors.deal_list(workspace, actor, params)
        page = cursor_paginate(
            deals, sort="-created_at", cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except ValidationFailed as failure:
        error = error_text(failure) or failure.detail
        error = error or "This page link is not valid any more; showing the first page."
        params = {name: "" for name in LIST_FILTERS}
        page = cursor_paginate(
            selectors.deal_list(workspace, actor), sort="-created_at", cursor=None, limit=PAGE_SIZE
        )
    pipelines = list(selectors.pipeline_list(workspace))
    context = {
        "params": params,
        "page": page,
        "error": error,
        "pipelines": pipelines,
        "stages": [(p, s) for p in pipelines for s in p.stages.all()],
        "members": core_selectors.member_users(workspace, permission=LEAD_OWNER_PERMISSION),
        "statuses": DealStatus.choices,
        "next_query": query_with(params, cursor=page.next_cursor) if page.next_cursor else "",
        "is_later_page": bool(request.GET.get("cursor")),
    }
    return render_page(request, "web/deals/list.html", context)


# --- one deal -------------------------------------------------------------------------------


def _deal_context(request: HttpRequest, deal: Deal, **extra) -> dict:
    workspace = request.workspace
    activities = []
    if deal.contact_id:
        activities = list(
            Activity.objects.filter(
                workspace=workspace,
                contact_id=deal.contact_id,
                kind__startswith="deal.",
                data__deal_id=deal.pk,
            )
            .select_related("actor_user")
            .order_by("-occurred_at", "-id")[:100]
        )
    settings = selectors.deal_settings_read(workspace)
    history = selectors.deal_history(workspace, deal)
    for change in history:
        change.duration_text = duration(change.seconds_in_from_stage)
    context = {
        "deal": deal,
        "history": history,
        "timeline": timeline_entries(activities, Names({}, {}, [])),
        "stages": list(deal.pipeline.stages.all()),
        "open_stages": [s for s in deal.pipeline.stages.all() if s.kind == StageKind.OPEN],
        "members": core_selectors.member_users(workspace, permission=LEAD_OWNER_PERMISSION),
        "lost_reasons": settings.lost_reasons,
        "values": {
            "title": deal.title,
            "amount": deal.amount,
            "currency": deal.currency,
            "expected_close_date": deal.expected_close_date.isoformat()
            if deal.expected_close_date
            else "",
            "owner_id": deal.owner_id or "",
            "probability": deal.probability if deal.probability_manual else "",
            "stage_id": deal.stage_id,
        },
        "errors": {},
    }
    context.update(extra)
    return context


@workspace_view("read")
@require_safe
def deal_detail(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get(request.workspace, request.actor, deal_id)
    return render_page(request, "web/deals/detail.html", _deal_context(request, deal))


@workspace_view("write")
@require_POST
def deal_edit(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Save the edit form; errors show beside their fields, nothing is saved."""
    deal = selectors.deal_get(request.workspace, request.actor, deal_id)
    values = {name: request.POST.get(name, "").strip() for name in DEAL_FORM_FIELDS}
    if deal.status != DealStatus.OPEN:
        values.pop("stage_id")
    try:
        services.deal_update(
            workspace=request.workspace, actor=request.actor, deal_id=deal.pk, values=values
        )
    except ValidationFailed as failure:
        errors = error_map(failure)
        context = _deal_context(
            request,
            deal,
            values=values,
            errors=errors,
            other_errors=non_field_errors(errors, DEAL_FORM_FIELDS),
        )
        return render_page(request, "web/deals/detail.html", context, status=422)
    messages.success(request, "Deal saved.")
    return redirect("deal_detail", request.workspace.slug, deal.pk)


@workspace_view("write")
@require_POST
def deal_outcome(request: HttpRequest, deal_id: int, outcome: str) -> HttpResponse:
    """Win, lose (with the reason chosen or typed) or reopen a deal."""
    workspace, actor = request.workspace, request.actor
    if outcome == "win":
        deal = services.deal_win(workspace=workspace, actor=actor, deal_id=deal_id)
        messages.success(request, f"Won “{deal.title}”.")
    elif outcome == "lose":
        reason = request.POST.get("reason_other", "").strip() or request.POST.get("reason", "")
        deal = services.deal_lose(workspace=workspace, actor=actor, deal_id=deal_id, reason=reason)
        messages.success(request, f"Lost “{deal.title}”: {deal.lost_reason}.")
    elif outcome == "reopen":
        deal = services.deal_reopen(workspace=workspace, actor=actor, deal_id=deal_id)
        messages.success(request, f"Reopened “{deal.title}” in {deal.stage.name}.")
    else:
        raise NotFound("No such action.")
    return redirect("deal_detail", workspace.slug, deal.pk)


@workspace_view("write")
@require_POST
def deal_delete(request: HttpRequest, deal_id: int) -> HttpResponse:
    services.deal_delete(workspace=request.workspace, actor=request.actor, deal_id=deal_id)
    messages.success(request, "Deal deleted.")
    return redirect("deal_list", request.workspace.slug)


@workspace_view("write")
@require_http_methods(["GET", "POST"])
def deal_create(request: HttpRequest) -> HttpResponse:
    """A new deal (without a contact: for one, use Convert to deal on its page)."""
    pipeline = _pipeline(request)
    values = {"title": "", "amount": "", "currency": "", "expected_close_date": ""}
    errors: dict = {}
    other_errors: list[str] = []
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in DEAL_FORM_FIELDS}
        values["pipeline_id"] = pipeline.pk
        try:
            deal = services.deal_create(
                workspace=request.workspace,
                actor=request.actor,
                values={key: value for key, value in values.items() if value != ""},
            )
        except ValidationFailed as failure:
            errors = error_map(failure)
            other_errors = non_field_errors(errors, DEAL_FORM_FIELDS)
        else:
            messages.success(request, "Deal created.")
            return redirect("deal_detail", request.workspace.slug, deal.pk)
    context = {
        "pipeline": pipeline,
        "open_stages": [s for s in pipeline.stages.all() if s.kind == StageKind.OPEN],
        "members": core_selectors.member_users(request.workspace, permission=LEAD_OWNER_PERMISSION),
        "values": values,
        "errors": errors,
        "other_errors": other_errors,
    }
    return render_page(request, "web/deals/new.html", context, status=422 if errors else 200)


@workspace_view("write")
@require_POST
def lead_convert(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact page's "Convert to deal": a deal with the defaults (or the title and
    amount given) and the contact moved to opportunity; then the deal's page."""
    try:
        deal = services.lead_convert_to_deal(
            workspace=request.workspace,
            actor=request.actor,
            contact_id=contact_id,
            title=request.POST.get("title", "").strip() or None,
            amount=request.POST.get("amount", "").strip() or None,
        )
    except (ValidationFailed, Conflict) as failure:
        text = failure.detail
        if isinstance(failure, ValidationFailed):
            text = error_text(failure) or text
        messages.error(request, f"Not converted: {text}")
        return redirect("contact_detail", request.workspace.slug, contact_id)
    messages.success(request, f"Converted to the deal “{deal.title}”; now an opportunity.")
    return redirect("deal_detail", request.workspace.slug, deal.pk)


# --- the forecast ---------------------------------------------------------------------------


@workspace_view("read")
@require_safe
def deal_forecast(request: HttpRequest) -> HttpResponse:
    """Weighted and unweighted open pipeline by close month and owner, stage conversion and
    time, won and lost (last 365 days) and the lost reasons, with charts."""
    pipeline = _pipeline(request)
    since = timezone.now().date().replace(day=1).replace(year=timezone.now().year - 1)
    result = selectors.forecast(
        request.workspace, request.actor, pipeline=pipeline, closed_since=since
    )
    month_chart = charts.category_bars(
        [
            (
                row["month"].strftime("%b %Y") if row["month"] else "No date",
                row["total"],
                row["weighted"],
            )
            for row in result.weighted_by_month
            if row["currency"] == _main_currency(result.weighted_by_month)
        ]
    )
    context = {
        "pipelines": list(selectors.pipeline_list(request.workspace)),
        "pipeline": pipeline,
        "forecast": result,
        "since": since,
        "month_chart": month_chart,
        "chart_currency": _main_currency(result.weighted_by_month),
    }
    return render_page(request, "web/deals/forecast.html", context)


def _main_currency(rows: list[dict]) -> str:
    """The currency with the largest open amount (the chart shows one currency)."""
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + row["total"]
    return max(totals, key=lambda currency: (totals[currency], currency), default="")
