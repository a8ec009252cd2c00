"""Reads of deals: pipelines with their stages, the deals an actor may see (lists, the
board, one deal and its history) and the forecast. Every function takes the workspace
first; an id of another workspace finds nothing (NotFound).

Who sees which deal: everyone in the workspace sees every deal, except a sales member who
sees only own leads, who sees the deals they own and the deals of contacts they may see
(docs/permissions.md). The forecast counts only the deals the actor sees.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncMonth

from leadflow.contacts.selectors import own_leads_condition
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.deals.models import (
    Deal,
    DealSettings,
    DealStageChange,
    DealStatus,
    Order,
    PaymentSettings,
    Pipeline,
    Product,
    Stage,
    StageKind,
)

BOARD_CARDS_PER_STAGE = 50
MONEY = DecimalField(max_digits=20, decimal_places=4)
ZERO = Decimal("0")


# --- pipelines and stages -----------------------------------------------------------------


def pipeline_list(workspace: Workspace) -> QuerySet[Pipeline]:
    """The workspace's pipelines in order, each with its stages in order (prefetched)."""
    return Pipeline.objects.filter(workspace=workspace).prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("position", "id"))
    )


def pipeline_get(workspace: Workspace, pipeline_id: int) -> Pipeline:
    pipeline = pipeline_list(workspace).filter(pk=pipeline_id).first()
    if pipeline is None:
        raise NotFound("No such pipeline.")
    return pipeline


def pipeline_default(workspace: Workspace) -> Pipeline | None:
    """The first pipeline by position (None before the first use makes one)."""
    return pipeline_list(workspace).first()


def stage_get(workspace: Workspace, stage_id: int) -> Stage:
    stage = (
        Stage.objects.filter(workspace=workspace, pk=stage_id).select_related("pipeline").first()
    )
    if stage is None:
        raise NotFound("No such stage.")
    return stage


def deal_settings_read(workspace: Workspace) -> DealSettings:
    """The workspace's deal settings, or the defaults (unsaved) when it has none yet."""
    return DealSettings.objects.filter(workspace=workspace).first() or DealSettings(
        workspace=workspace
    )


# --- deals ----------------------------------------------------------------------------------


def deals_visible(workspace: Workspace, actor: Actor) -> QuerySet[Deal]:
    """Every deal the actor may see (see the module's rule)."""
    deals = Deal.objects.filter(workspace=workspace)
    if actor.sees_only_own_leads:
        deals = deals.filter(
            Q(owner_id=actor.user_id) | own_leads_condition(workspace, actor, "contact")
        )
    return deals


def _with_related(deals: QuerySet[Deal]) -> QuerySet[Deal]:
    return deals.select_related("pipeline", "stage", "contact", "company", "owner")


def deal_get(workspace: Workspace, actor: Actor, deal_id: int) -> Deal:
    deal = _with_related(deals_visible(workspace, actor)).filter(pk=deal_id).first()
    if deal is None:
        raise NotFound("No such deal.")
    return deal


DEAL_FILTERS = ("pipeline", "stage", "owner", "status", "close_month", "contact", "q")


def deal_list(
    workspace: Workspace, actor: Actor, filters: Mapping[str, Any] | None = None
) -> QuerySet[Deal]:
    """The deals the actor sees matching ``filters`` (pipeline, stage, owner — an id, or
    "none" for no owner —, status, close_month "YYYY-MM", contact, q: words of the title),
    related rows loaded. A malformed filter is a ValidationFailed naming it."""
    deals = _with_related(deals_visible(workspace, actor))
    filters = filters or {}
    errors = []
    for name in ("pipeline", "stage", "contact"):
        value = filters.get(name)
        if value in (None, ""):
            continue
        try:
            deals = deals.filter(**{f"{name}_id": int(value)})
        except (TypeError, ValueError):
            errors.append(FieldError(name, "Must be an id."))
    owner = filters.get("owner")
    if owner == "none":
        deals = deals.filter(owner__isnull=True)
    elif owner not in (None, ""):
        try:
            deals = deals.filter(owner_id=int(owner))
        except (TypeError, ValueError):
            errors.append(FieldError("owner", 'Must be a member id or "none".'))
    status = filters.get("status")
    if status not in (None, ""):
        if status not in DealStatus.values:
            errors.append(FieldError("status", f"One of {', '.join(DealStatus.values)}."))
        else:
            deals = deals.filter(status=status)
    month = filters.get("close_month")
    if month not in (None, ""):
        try:
            first = dt.datetime.strptime(str(month), "%Y-%m").date()
        except ValueError:
            errors.append(FieldError("close_month", "A month as YYYY-MM."))
        else:
            deals = deals.filter(
                expected_close_date__year=first.year, expected_close_date__month=first.month
            )
    words = str(filters.get("q") or "").strip()[:100]
    for word in words.split()[:5]:
        deals = deals.filter(title__icontains=word)
    if errors:
        raise ValidationFailed(errors)
    return deals


def deal_history(workspace: Workspace, deal: Deal) -> list[DealStageChange]:
    """The deal's stage changes, oldest first, with who made them."""
    return list(
        DealStageChange.objects.filter(workspace=workspace, deal=deal).select_related("by_user")
    )


def contact_deals(workspace: Workspace, actor: Actor, contact_id: int) -> list[Deal]:
    """The deals of one contact the actor sees, newest first."""
    return list(
        _with_related(deals_visible(workspace, actor))
        .filter(contact_id=contact_id)
        .order_by("-created_at", "-id")
    )


# --- the board ------------------------------------------------------------------------------


@dataclass
class Column:
    """One open stage of the board: its first cards, how many deals it holds and their
    total amount per currency."""

    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)

    @property
    def more(self) -> int:
        return self.count - len(self.deals)


def board(workspace: Workspace, actor: Actor, pipeline: Pipeline) -> list[Column]:
    """The pipeline's open stages as columns of the open deals the actor sees: at most
    ``BOARD_CARDS_PER_STAGE`` cards each (soonest expected close first), with every deal
    counted and summed. Three queries, whatever the number of deals."""
    columns = {
        stage.pk: Column(stage=stage)
        for stage in pipeline.stages.all()
        if stage.kind == StageKind.OPEN
    }
    deals = deals_visible(workspace, actor).filter(pipeline=pipeline, stage_id__in=columns)
    for row in deals.values("stage_id", "currency").annotate(n=Count("pk"), total=Sum("amount")):
        column = columns[row["stage_id"]]
        column.count += row["n"]
        column.totals[row["currency"]] = row["total"] or ZERO
    ranked = _with_related(deals).annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("stage_id")],
            order_by=[F("expected_close_date").asc(nulls_last=True), F("id").asc()],
        )
    )
    for deal in ranked.filter(rank__lte=BOARD_CARDS_PER_STAGE).order_by("stage_id", "rank"):
        columns[deal.stage_id].deals.append(deal)
    return list(columns.values())


# --- the forecast ---------------------------------------------------------------------------


@dataclass
class StageFlow:
    """How deals went through one open stage: how many entered it, how many of those
    reached a later open or won stage, and the average days spent in it."""

    stage: Stage
    entered: int
    advanced: int
    average_days: float | None

    @property
    def conversion(self) -> float | None:
        return self.advanced / self.entered if self.entered else None


@dataclass
class Forecast:
    weighted_by_month: list[dict[str, Any]]
    weighted_by_owner: list[dict[str, Any]]
    flows: list[StageFlow]
    closed: list[dict[str, Any]]
    lost_reasons: list[dict[str, Any]]


def forecast(
    workspace: Workspace,
    actor: Actor,
    *,
    pipeline: Pipeline,
    closed_since: dt.date | None = None,
) -> Forecast:
    """The pipeline's forecast over the deals the actor sees, each part one aggregate query:

    - open deals' weighted amount (amount * probability / 100) beside the unweighted
      amount, by expected close month (None: no date) and by owner, per currency (amounts
      in different currencies are never added);
    - per open stage: deals that entered it, the share that reached a later open or won
      stage, and the average time spent in it (completed stays only);
    - won and lost deals (closed on or after ``closed_since`` when given): counts and
      amounts per currency, and the lost reasons by count.
    """
    deals = deals_visible(workspace, actor).filter(pipeline=pipeline)
    weighted = ExpressionWrapper(F("amount") * F("probability") / 100, output_field=MONEY)
    sums = {
        "deals": Count("pk"),
        "total": Coalesce(Sum("amount"), ZERO, output_field=MONEY),
        "weighted": Coalesce(Sum(weighted), ZERO, output_field=MONEY),
    }
    open_deals = deals.filter(status=DealStatus.OPEN)
    by_month = list(
        open_deals.annotate(month=TruncMonth("expected_close_date"))
        .values("month", "currency")
        .annotate(**sums)
        .order_by(F("month").asc(nulls_last=True), "currency")
    )
    by_owner = list(
        open_deals.values("owner_id", "owner__email", "owner__full_name", "currency")
        .annotate(**sums)
        .order_by("-weighted", "owner__email", "currency")
    )
    for row in by_month + by_owner:
        row["total"] = Decimal(row["total"]).quantize(Decimal("0.01"))
        row["weighted"] = Decimal(row["weighted"]).quantize(Decimal("0.01"))
        if "month" in row and isinstance(row["month"], dt.datetime):
            row["month"] = row["month"].date()
    stages = [stage for stage in pipeline.stages.all() if stage.kind == StageKind.OPEN]
    flows = _stage_flows(workspace, deals, pipeline, stages)
    closed_deals = deals.exclude(status=DealStatus.OPEN)
    if closed_since is not None:
        closed_deals = closed_deals.filter(closed_at__date__gte=closed_since)
    closed = list(
        closed_deals.values("status", "currency")
        .annotate(deals=Count("pk"), total=Coalesce(Sum("amount"), ZERO, output_field=MONEY))
        .order_by("status", "currency")
    )
    reasons = list(
        closed_deals.filter(status=DealStatus.LOST)
        .values("lost_reason")
        .annotate(deals=Count("pk"))
        .order_by("-deals", "lost_reason")
    )
    return Forecast(by_month, by_owner, flows, closed, reasons)


def _stage_flows(
    workspace: Workspace, deals: QuerySet[Deal], pipeline: Pipeline, stages: list[Stage]
) -> list[StageFlow]:
    changes = DealStageChange.objects.filter(workspace=workspace, deal__in=deals)
    later = changes.filter(
        deal_id=OuterRef("deal_id"),
        to_stage__position__gt=OuterRef("to_stage__position"),
        to_stage__kind__in=[StageKind.OPEN, StageKind.WON],
        to_stage__pipeline=pipeline,
    )
    entered = {
        row["to_stage_id"]: row
        for row in changes.filter(to_stage__in=stages)
        .annotate(advanced=Exists(later))
        .values("to_stage_id")
        .annotate(
            entered=Count("deal_id", distinct=True),
            reached=Count("deal_id", distinct=True, filter=Q(advanced=True)),
        )
    }
    seconds = dict(
        changes.filter(from_stage__in=stages, seconds_in_from_stage__isnull=False)
        .values("from_stage_id")
        .annotate(average=Avg("seconds_in_from_stage"))
        .values_list("from_stage_id", "average")
    )
    flows = []
    for stage in stages:
        row = entered.get(stage.pk, {})
        average = seconds.get(stage.pk)
        flows.append(
            StageFlow(
                stage=stage,
                entered=row.get("entered", 0),
                advanced=row.get("reached", 0),
                average_days=None if average is None else float(average) / 86400,
            )
        )
    return flows


def open_pipeline_totals(workspace: Workspace, actor: Actor) -> list[dict[str, Any]]:
    """The open deals the actor sees, in every pipeline, per currency (amounts in different
    currencies are never added): ``deals``, ``total`` amount and ``weighted`` amount (amount *
    probability / 100, the forecast's weighting), largest weighted first. One query."""
    weighted = ExpressionWrapper(F("amount") * F("probability") / 100, output_field=MONEY)
    rows = list(
        deals_visible(workspace, actor)
        .filter(status=DealStatus.OPEN)
        .values("currency")
        .annotate(
            deals=Count("pk"),
            total=Coalesce(Sum("amount"), ZERO, output_field=MONEY),
            weighted=Coalesce(Sum(weighted), ZERO, output_field=MONEY),
        )
        .order_by("-weighted", "currency")
    )
    for row in rows:
        row["total"] = Decimal(row["total"]).quantize(Decimal("0.01"))
        row["weighted"] = Decimal(row["weighted"]).quantize(Decimal("0.01"))
    return rows


# --- products and orders ---------------------------------------------------------------------


def product_list(workspace: Workspace, *, active: bool | None = None) -> QuerySet[Product]:
    """The workspace's products by name; ``active`` True: those offered, False: archived."""
    products = Product.objects.filter(workspace=workspace)
    if active is not None:
        products = products.filter(active=active)
    return products.order_by("name", "id")


def product_get(workspace: Workspace, product_id: int) -> Product:
    product = Product.objects.filter(workspace=workspace, pk=product_id).first()
    if product is None:
        raise NotFound("No such product.")
    return product


def order_list(workspace: Workspace) -> QuerySet[Order]:
    """The workspace's orders, newest first, with their deal and contact loaded."""
    return (
        Order.objects.filter(workspace=workspace)
        .select_related("deal", "contact")
        .order_by("-created_at", "-id")
    )


def order_get(workspace: Workspace, order_id: int) -> Order:
    order = order_list(workspace).filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    return order


def payment_settings_read(workspace: Workspace) -> PaymentSettings:
    """The workspace's Stripe settings, or empty ones (unsaved) when it has none yet."""
    return PaymentSettings.objects.filter(workspace=workspace).first() or PaymentSettings(
        workspace=workspace
    )
