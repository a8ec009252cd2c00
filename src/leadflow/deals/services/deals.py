"""Writes of deals: pipelines and stages, deals and their moves, and a lead's conversion.

Guarantees:

- Every service runs in one transaction; a refused input raises ValidationFailed naming
  each bad field and writes nothing.
- A deal's status follows the kind of its stage, and its probability the stage's default
  unless set by hand (``probability_manual``; giving ``probability: null`` goes back to
  the default).
- Every move (creation included) is one ``DealStageChange`` row with the seconds the deal
  spent in the stage it left; a deal with a contact also writes ``deal.created``,
  ``deal.stage_changed``, ``deal.won`` or ``deal.lost`` on the contact's timeline.
- Moves lock the deal row, then its contact's row, so two moves of one deal, or the loss
  of a contact's two last deals at once, happen one after the other.
- Winning a deal makes its contact a customer (contacts' ``contacts_stage_advance``, which
  also records the won outcome the predictive score learns from); losing a contact's last
  open deal sends a contact still in the funnel below customer to nurture when the deal
  settings say so (default on). A conversion moves the contact to opportunity.
- Only the deals the actor sees can be changed (others answer NotFound).
"""

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadflow.contacts.models import Company, Contact, LifecycleStage
from leadflow.contacts.selectors import contact_get
from leadflow.contacts.services import activity_record, contacts_stage_advance
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.services import audit_record
from leadflow.deals import selectors
from leadflow.deals.kinds import (
    DEAL_CREATED,
    DEAL_LOST,
    DEAL_STAGE_CHANGED,
    DEAL_WON,
    deal_data,
)
from leadflow.deals.models import (
    CURRENCY_PATTERN,
    Deal,
    DealStageChange,
    DealStatus,
    Pipeline,
    Stage,
    StageKind,
)
from leadflow.deals.services.pipelines import pipeline_default_ensure, unknown_fields

MAX_AMOUNT = Decimal("999999999999.99")
# Stages a contact leaves for opportunity when converted (a customer stays a customer).
BEFORE_OPPORTUNITY = [
    LifecycleStage.SUBSCRIBER,
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.NURTURE,
    LifecycleStage.DISQUALIFIED,
]
# Stages a contact leaves for nurture when its last open deal is lost.
NURTURE_FROM = [
    LifecycleStage.SUBSCRIBER,
    LifecycleStage.LEAD,
    LifecycleStage.MQL,
    LifecycleStage.SQL,
    LifecycleStage.OPPORTUNITY,
]
DEAL_FIELDS = {
    "title",
    "pipeline_id",
    "stage_id",
    "contact_id",
    "company_id",
    "amount",
    "currency",
    "expected_close_date",
    "owner_id",
    "probability",
}


# --- deals -------------------------------------------------------------------------------------


def _deal_clean(
    workspace: Workspace, actor: Actor, values: Mapping[str, Any], *, partial: bool
) -> dict[str, Any]:
    """Checked values of a deal: each bad field named (ids of another workspace, a
    contact the actor may not see, an owner who may not own leads all answer 422)."""
    errors = unknown_fields(values, DEAL_FIELDS)
    clean: dict[str, Any] = {}
    if "title" in values or not partial:
        title = str(values.get("title") or "").strip()
        # A new deal for a contact may leave the title out: it takes the contact's name.
        may_be_empty = not partial and values.get("contact_id") not in (None, "")
        if len(title) > 200 or (not title and not may_be_empty):
            errors.append(FieldError("title", "1 to 200 characters."))
        clean["title"] = title
    if "amount" in values:
        try:
            amount = Decimal(str(values["amount"] if values["amount"] is not None else "0"))
            if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
                raise InvalidOperation
            clean["amount"] = amount.quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            errors.append(FieldError("amount", f"A number from 0 to {MAX_AMOUNT}."))
    if "currency" in values and values["currency"] not in (None, ""):
        currency = str(values["currency"]).strip().upper()
        if not re.match(CURRENCY_PATTERN, currency):
            errors.append(FieldError("currency", "An ISO 4217 code such as USD or EUR."))
        clean["currency"] = currency
    if "expected_close_date" in values:
        value = values["expected_close_date"]
        if value in (None, ""):
            clean["expected_close_date"] = None
        elif isinstance(value, dt.date):
            clean["expected_close_date"] = value
        else:
            try:
                clean["expected_close_date"] = dt.date.fromisoformat(str(value))
            except ValueError:
                errors.append(FieldError("expected_close_date", "A date as YYYY-MM-DD."))
    if "probability" in values:
        probability = values["probability"]
        if probability in (None, ""):
            clean["probability"] = None
        else:
            try:
                if isinstance(probability, bool):
                    raise ValueError
                number = int(probability)
                if str(number) != str(probability).strip() or not 0 <= number <= 100:
                    raise ValueError
                clean["probability"] = number
            except (TypeError, ValueError):
                errors.append(FieldError("probability", "A whole number from 0 to 100."))
    if values.get("owner_id") not in (None, ""):
        owner_id = _int(values["owner_id"])
        if not is_member_id(workspace, owner_id, permission=LEAD_OWNER_PERMISSION):
            errors.append(
                FieldError("owner_id", "Not a member of this workspace who may own leads.")
            )
        clean["owner_id"] = owner_id
    elif "owner_id" in values:
        clean["owner_id"] = None
    if values.get("contact_id") not in (None, ""):
        try:
            clean["contact"] = contact_get(workspace, actor, _int(values["contact_id"]))
        except (NotFound, TypeError):
            errors.append(FieldError("contact_id", "No such contact in this workspace."))
    elif "contact_id" in values:
        clean["contact"] = None
    if values.get("company_id") not in (None, ""):
        company = Company.objects.filter(workspace=workspace, pk=_int(values["company_id"])).first()
        if company is None:
            errors.append(FieldError("company_id", "No such company in this workspace."))
        clean["company_id"] = company.pk if company else None
    elif "company_id" in values:
        clean["company_id"] = None
    for name, model in (("pipeline_id", Pipeline), ("stage_id", Stage)):
        if values.get(name) not in (None, ""):
            found = model.objects.filter(workspace=workspace, pk=_int(values[name])).first()
            if found is None:
                errors.append(FieldError(name, f"No such {name[:-3]} in this workspace."))
            clean[name[:-3]] = found
    if errors:
        raise ValidationFailed(errors)
    return clean


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= 2**63 - 1 else None


def _stage_and_pipeline(
    workspace: Workspace, clean: Mapping[str, Any], current: Deal | None = None
) -> tuple[Pipeline, Stage]:
    pipeline = clean.get("pipeline") or (current.pipeline if current else None)
    stage = clean.get("stage")
    if pipeline is None:
        pipeline = stage.pipeline if stage else pipeline_default_ensure(workspace)
    if stage is None:
        if current is not None and current.pipeline_id == pipeline.pk:
            stage = current.stage
        else:
            stage = (
                Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN)
                .order_by("position", "id")
                .first()
            )
    if stage is None or stage.pipeline_id != pipeline.pk:
        raise ValidationFailed([FieldError("stage_id", "Not a stage of this pipeline.")])
    return pipeline, stage


def _timeline(workspace: Workspace, deal: Deal, kind: str, actor: Actor, **extra: Any) -> None:
    if deal.contact_id is None:
        return
    activity_record(
        workspace=workspace,
        contact=deal.contact,
        kind=kind,
        actor=actor,
        data=deal_data(
            deal_id=deal.pk,
            title=deal.title,
            pipeline=deal.pipeline.name,
            to_stage=deal.stage.name,
            amount=deal.amount,
            currency=deal.currency,
            **extra,
        ),
    )


def _history(
    workspace: Workspace, deal: Deal, source: Stage | None, target: Stage, actor: Actor, now
) -> None:
    seconds = None
    if source is not None:
        seconds = max(int((now - deal.stage_entered_at).total_seconds()), 0)
    DealStageChange.objects.create(
        workspace=workspace,
        deal=deal,
        from_stage=source,
        to_stage=target,
        from_stage_name=source.name if source else "",
        to_stage_name=target.name,
        seconds_in_from_stage=seconds,
        at=now,
        by_user_id=actor.user_id,
        by_label=actor.label[:200],
    )


def deal_create(*, workspace: Workspace, actor: Actor, values: Mapping[str, Any]) -> Deal:
    """A new deal. Defaults: the default pipeline and its first open stage, the contact's
    company, the workspace's currency, the contact's owner (else the acting member when
    they may own leads), the stage's probability, the contact's name as title. Created in
    a won or lost stage it is closed at once (a lost one needs ``lost_reason``: use
    ``deal_lose`` afterwards instead)."""
    clean = _deal_clean(workspace, actor, values, partial=False)
    pipeline, stage = _stage_and_pipeline(workspace, clean)
    if stage.kind == StageKind.LOST:
        raise ValidationFailed(
            [FieldError("stage_id", "Create the deal open, then lose it with a reason.")]
        )
    contact = clean.get("contact")
    title = clean.get("title") or (f"{contact}" if contact else "")
    if not title:
        raise ValidationFailed([FieldError("title", "1 to 200 characters.")])
    owner_id = clean.get("owner_id")
    if "owner_id" not in clean:
        if contact is not None and contact.owner_id:
            owner_id = contact.owner_id
        elif is_member_id(workspace, actor.user_id, permission=LEAD_OWNER_PERMISSION):
            owner_id = actor.user_id
    probability = clean.get("probability")
    now = timezone.now()
    with transaction.atomic():
        deal = Deal.objects.create(
            workspace=workspace,
            pipeline=pipeline,
            stage=stage,
            title=title[:200],
            contact=contact,
            company_id=clean.get("company_id", contact.company_id if contact else None),
            amount=clean.get("amount", Decimal("0")),
            currency=clean.get("currency")
            or selectors.deal_settings_read(workspace).default_currency,
            expected_close_date=clean.get("expected_close_date"),
            owner_id=owner_id,
            probability=stage.probability if probability is None else probability,
            probability_manual=probability is not None,
            status=DealStatus.OPEN,
            stage_entered_at=now,
            created_at=now,
            updated_at=now,
        )
        _history(workspace, deal, None, stage, actor, now)
        _timeline(workspace, deal, DEAL_CREATED, actor)
        if stage.kind == StageKind.WON:
            _close(workspace, deal, stage, actor, now, reason="")
    return selectors.deal_get(workspace, Actor.system(), deal.pk)


def _lock(workspace: Workspace, actor: Actor, deal_id: int) -> Deal:
    """The deal (visible to the actor) locked, then its contact's row locked."""
    visible = selectors.deals_visible(workspace, actor).filter(pk=deal_id)
    deal = (
        Deal.objects.select_for_update(of=("self",))
        .filter(pk__in=visible.values("pk"))
        .select_related("pipeline", "stage", "contact")
        .first()
    )
    if deal is None:
        raise NotFound("No such deal.")
    if deal.contact_id is not None:
        list(Contact.objects.select_for_update().filter(pk=deal.contact_id).values("pk"))
    return deal


def deal_update(
    *, workspace: Workspace, actor: Actor, deal_id: int, values: Mapping[str, Any]
) -> Deal:
    """Change a deal's fields; a new ``stage_id`` (or ``pipeline_id``) is a move, as by
    ``deal_move_stage`` (to a lost stage: use ``deal_lose``)."""
    clean = _deal_clean(workspace, actor, values, partial=True)
    with transaction.atomic():
        deal = _lock(workspace, actor, deal_id)
        pipeline, stage = _stage_and_pipeline(workspace, clean, deal)
        for key in ("title", "amount", "currency", "expected_close_date", "owner_id", "company_id"):
            if key in clean:
                setattr(deal, key, clean[key])
        if "contact" in clean:
            deal.contact = clean["contact"]
        if "probability" in clean:
            deal.probability_manual = clean["probability"] is not None
            deal.probability = (
                deal.stage.probability if clean["probability"] is None else clean["probability"]
            )
        deal.updated_at = timezone.now()
        deal.save()
        if stage.pk != deal.stage_id or pipeline.pk != deal.pipeline_id:
            _move(workspace, actor, deal, stage, reason="")
    return selectors.deal_get(workspace, Actor.system(), deal.pk)


def deal_move_stage(
    *, workspace: Workspace, actor: Actor, deal_id: int, stage_id: int, reason: str = ""
) -> Deal:
    """Move a deal to a stage of its pipeline (the board's drop): recorded in the stage
    history and on the contact's timeline; a won stage wins it, a lost stage loses it
    (``reason`` required). Moving to the stage it is in changes nothing."""
    with transaction.atomic():
        deal = _lock(workspace, actor, deal_id)
        stage = Stage.objects.filter(
            workspace=workspace, pk=stage_id, pipeline_id=deal.pipeline_id
        ).first()
        if stage is None:
            raise ValidationFailed([FieldError("stage_id", "Not a stage of this deal's pipeline.")])
        if stage.pk != deal.stage_id:
            _move(workspace, actor, deal, stage, reason=reason)
    return selectors.deal_get(workspace, Actor.system(), deal.pk)


def _move(workspace: Workspace, actor: Actor, deal: Deal, target: Stage, *, reason: str) -> None:
    reason = (reason or "").strip()
    if target.kind == StageKind.LOST and not reason:
        raise ValidationFailed([FieldError("reason", "Say why the deal was lost.")])
    if len(reason) > 200:
        raise ValidationFailed([FieldError("reason", "At most 200 characters.")])
    now = timezone.now()
    source = deal.stage
    _history(workspace, deal, source, target, actor, now)
    deal.pipeline = target.pipeline
    deal.stage = target
    deal.stage_entered_at = now
    deal.updated_at = now
    if not deal.probability_manual:
        deal.probability = target.probability
    if target.kind == StageKind.OPEN:
        deal.status, deal.closed_at, deal.lost_reason = DealStatus.OPEN, None, ""
        deal.save()
        _timeline(workspace, deal, DEAL_STAGE_CHANGED, actor, from_stage=source.name)
        return
    _close(workspace, deal, target, actor, now, reason=reason, from_stage=source.name)


def _close(
    workspace: Workspace,
    deal: Deal,
    target: Stage,
    actor: Actor,
    now,
    *,
    reason: str,
    from_stage: str = "",
) -> None:
    deal.status = DealStatus.WON if target.kind == StageKind.WON else DealStatus.LOST
    deal.closed_at = now
    deal.lost_reason = reason if deal.status == DealStatus.LOST else ""
    deal.save()
    if deal.status == DealStatus.WON:
        _timeline(workspace, deal, DEAL_WON, actor, from_stage=from_stage)
        if deal.contact_id:
            contacts_stage_advance(
                workspace=workspace,
                stage=LifecycleStage.CUSTOMER,
                from_stages=[s for s in LifecycleStage.values if s != LifecycleStage.CUSTOMER],
                contact_ids=[deal.contact_id],
                actor=actor,
                reason=f"Deal won: {deal.title}"[:200],
            )
        return
    _timeline(workspace, deal, DEAL_LOST, actor, from_stage=from_stage, reason=reason)
    if deal.contact_id and selectors.deal_settings_read(workspace).nurture_when_all_lost:
        still_open = Deal.objects.filter(
            workspace=workspace, contact_id=deal.contact_id, status=DealStatus.OPEN
        ).exists()
        if not still_open:
            contacts_stage_advance(
                workspace=workspace,
                stage=LifecycleStage.NURTURE,
                from_stages=NURTURE_FROM,
                contact_ids=[deal.contact_id],
                actor=actor,
                reason=f"Every open deal lost (last: {deal.title})"[:200],
            )


def _closing_stage(deal: Deal, kind: str) -> Stage:
    stage = (
        Stage.objects.filter(pipeline_id=deal.pipeline_id, kind=kind)
        .order_by("position", "id")
        .first()
    )
    if stage is None:
        raise Conflict(f"This pipeline has no {kind} stage.", code=f"no_{kind}_stage")
    return stage


def deal_win(*, workspace: Workspace, actor: Actor, deal_id: int) -> Deal:
    """Win a deal: it moves to its pipeline's (first) won stage; its contact becomes a
    customer. Winning a won deal changes nothing."""
    with transaction.atomic():
        deal = _lock(workspace, actor, deal_id)
        if deal.status != DealStatus.WON:
            _move(workspace, actor, deal, _closing_stage(deal, StageKind.WON), reason="")
    return selectors.deal_get(workspace, Actor.system(), deal.pk)


def deal_lose(*, workspace: Workspace, actor: Actor, deal_id: int, reason: str) -> Deal:
    """Lose a deal for ``reason`` (one of the workspace's lost reasons, or any text up to
    200 characters): it moves to the pipeline's (first) lost stage; a lost deal only
    changes its reason."""
    with transaction.atomic():
        deal = _lock(workspace, actor, deal_id)
        if deal.status == DealStatus.LOST:
            reason = (reason or "").strip()
            if not reason or len(reason) > 200:
                raise ValidationFailed([FieldError("reason", "1 to 200 characters.")])
            deal.lost_reason = reason
            deal.save(update_fields=["lost_reason"])
        else:
            _move(workspace, actor, deal, _closing_stage(deal, StageKind.LOST), reason=reason)
    return selectors.deal_get(workspace, Actor.system(), deal.pk)


def deal_reopen(
    *, workspace: Workspace, actor: Actor, deal_id: int, stage_id: int | None = None
) -> Deal:
    """Reopen a won or lost deal into ``stage_id`` (an open stage of its pipeline; default:
    the last open stage it was in). The contact's lifecycle stage is left as it is."""
    with transaction.atomic():
        deal = _lock(workspace, actor, deal_id)
        if deal.status == DealStatus.OPEN:
            raise Conflict("This deal is open already.", code="already_open")
        open_stages = Stage.objects.filter(pipeline_id=deal.pipeline_id, kind=StageKind.OPEN)
        if stage_id is not None:
            target = open_stages.filter(pk=stage_id).first()
            if target is None:
                raise ValidationFailed(
                    [FieldError("stage_id", "An open stage of this deal's pipeline.")]
                )
        else:
            last = (
                DealStageChange.objects.filter(deal=deal, to_stage__in=open_stages)
                .order_by("-at", "-id")
                .values_list("to_stage_id", flat=True)
                .first()
            )
            target = (
                open_stages.filter(pk=last).first()
                or open_stages.order_by("position", "id").first()
            )
        _move(workspace, actor, deal, target, reason="")
    return selectors.deal_get(workspace, Actor.system(), deal.pk)


def deal_delete(*, workspace: Workspace, actor: Actor, deal_id: int) -> None:
    """Delete a deal and its stage history (the contact's timeline keeps what happened)."""
    with transaction.atomic():
        deal = _lock(workspace, actor, deal_id)
        audit_record(workspace=workspace, actor=actor, action="deal.deleted", obj=deal)
        deal.delete()


def lead_convert_to_deal(
    *,
    workspace: Workspace,
    actor: Actor,
    contact_id: int,
    pipeline_id: int | None = None,
    title: str | None = None,
    amount: Any = None,
    currency: str | None = None,
    expected_close_date: Any = None,
    owner_id: int | None = None,
) -> Deal:
    """One step from a lead to a deal: a deal for the contact (as ``deal_create``) and the
    contact moved to opportunity (from any stage but customer, which stays), in one
    transaction. NotFound for a contact the actor does not see."""
    contact = contact_get(workspace, actor, contact_id)
    values: dict[str, Any] = {"contact_id": contact.pk, "title": title or ""}
    for key, value in (
        ("pipeline_id", pipeline_id),
        ("amount", amount),
        ("currency", currency),
        ("expected_close_date", expected_close_date),
        ("owner_id", owner_id),
    ):
        if value not in (None, ""):
            values[key] = value
    with transaction.atomic():
        deal = deal_create(workspace=workspace, actor=actor, values=values)
        contacts_stage_advance(
            workspace=workspace,
            stage=LifecycleStage.OPPORTUNITY,
            from_stages=BEFORE_OPPORTUNITY,
            contact_ids=[contact.pk],
            actor=actor,
            reason=f"Converted to a deal: {deal.title}"[:200],
        )
    return deal
