"""Writes of pipelines, stages and the deal settings: each in one transaction, audited;
refused input raises ValidationFailed naming each bad field and writes nothing. A stage
holding deals is deleted only by moving its deals, each move recorded."""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.deals import selectors
from leadflow.deals.models import (
    CURRENCY_PATTERN,
    DEFAULT_LOST_REASONS,
    DEFAULT_PIPELINE_NAME,
    DEFAULT_STAGES,
    Deal,
    DealSettings,
    DealStageChange,
    Pipeline,
    Stage,
    StageKind,
)

# --- settings and pipelines ------------------------------------------------------------------


def deal_settings_get(workspace: Workspace) -> DealSettings:
    """The workspace's deal settings, made with the defaults on first use."""
    found, _ = DealSettings.objects.get_or_create(
        workspace=workspace, defaults={"lost_reasons": list(DEFAULT_LOST_REASONS)}
    )
    return found


def deal_settings_update(
    *, workspace: Workspace, actor: Actor, values: Mapping[str, Any]
) -> DealSettings:
    """Change the currency ("" = the server's default), the lost reasons (distinct,
    non-empty, at most 50 of up to 200 characters) and ``nurture_when_all_lost``."""
    errors = [
        FieldError(key, "Unknown setting.")
        for key in values
        if key not in {"currency", "lost_reasons", "nurture_when_all_lost"}
    ]
    clean: dict[str, Any] = {}
    if "currency" in values:
        currency = str(values["currency"] or "").strip().upper()
        if currency and not re.match(CURRENCY_PATTERN, currency):
            errors.append(FieldError("currency", "An ISO 4217 code such as USD or EUR."))
        clean["currency"] = currency
    if "lost_reasons" in values:
        reasons = values["lost_reasons"]
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            errors.append(FieldError("lost_reasons", "A list of texts."))
        else:
            tidy = list(dict.fromkeys(r.strip() for r in reasons if r.strip()))
            if len(tidy) > 50 or any(len(r) > 200 for r in tidy):
                errors.append(FieldError("lost_reasons", "At most 50 of 200 characters each."))
            clean["lost_reasons"] = tidy
    if "nurture_when_all_lost" in values:
        clean["nurture_when_all_lost"] = bool(values["nurture_when_all_lost"])
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        found = deal_settings_get(workspace)
        for key, value in clean.items():
            setattr(found, key, value)
        found.save()
        audit_record(
            workspace=workspace, actor=actor, action="deals.settings_updated", changes=clean
        )
    return found


def pipeline_default_ensure(workspace: Workspace) -> Pipeline:
    """The workspace's default pipeline; the first call on a workspace without any makes
    the "Sales" pipeline with the default stages (and the deal settings). Safe to call at
    once from two requests: the unique name keeps one."""
    pipeline = selectors.pipeline_default(workspace)
    if pipeline is not None:
        return pipeline
    deal_settings_get(workspace)
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(workspace=workspace, name=DEFAULT_PIPELINE_NAME)
            _stages_add(workspace, pipeline, DEFAULT_STAGES)
    except IntegrityError:
        pass
    return selectors.pipeline_default(workspace)


def _stages_add(workspace: Workspace, pipeline: Pipeline, stages) -> None:
    Stage.objects.bulk_create(
        Stage(
            workspace=workspace,
            pipeline=pipeline,
            name=name,
            position=position,
            probability=probability,
            kind=kind,
        )
        for position, (name, probability, kind) in enumerate(stages)
    )


def _name(values: Mapping[str, Any], errors: list[FieldError], *, required: bool) -> str | None:
    if "name" not in values:
        if required:
            errors.append(FieldError("name", "A name is required."))
        return None
    name = str(values["name"] or "").strip()
    if not name or len(name) > 100:
        errors.append(FieldError("name", "1 to 100 characters."))
    return name


def unknown_fields(values: Mapping[str, Any], known: set[str]) -> list[FieldError]:
    """One "Unknown field." error per key of ``values`` not in ``known``."""
    return [FieldError(key, "Unknown field.") for key in values if key not in known]


def pipeline_create(*, workspace: Workspace, actor: Actor, values: Mapping[str, Any]) -> Pipeline:
    """A new pipeline after the others, with the default stages unless ``stages`` (a list
    of {name, probability, kind}) is given; it needs at least one open stage."""
    errors = unknown_fields(values, {"name", "stages"})
    name = _name(values, errors, required=True)
    stages = DEFAULT_STAGES
    if values.get("stages") is not None:
        stages = []
        for index, raw in enumerate(values["stages"]):
            stage_errors: list[FieldError] = []
            clean = _stage_clean(raw, stage_errors, required=True)
            errors += [FieldError(f"stages.{index}.{e.field}", e.message) for e in stage_errors]
            stages.append((clean.get("name"), clean.get("probability", 0), clean.get("kind")))
        names = [stage[0] for stage in stages]
        if len(set(names)) != len(names):
            errors.append(FieldError("stages", "Stage names must differ."))
        if not any(stage[2] == StageKind.OPEN for stage in stages):
            errors.append(FieldError("stages", "A pipeline needs at least one open stage."))
    if errors:
        raise ValidationFailed(errors)
    try:
        with transaction.atomic():
            last = Pipeline.objects.filter(workspace=workspace).aggregate(top=Max("position"))
            pipeline = Pipeline.objects.create(
                workspace=workspace,
                name=name,
                position=0 if last["top"] is None else last["top"] + 1,
            )
            _stages_add(workspace, pipeline, stages)
            audit_record(workspace=workspace, actor=actor, action="pipeline.created", obj=pipeline)
    except IntegrityError:
        raise ValidationFailed([FieldError("name", "Another pipeline has this name.")]) from None
    return selectors.pipeline_get(workspace, pipeline.pk)


def pipeline_update(
    *, workspace: Workspace, actor: Actor, pipeline_id: int, values: Mapping[str, Any]
) -> Pipeline:
    """Rename a pipeline or move it (``position`` 0 makes it the default)."""
    errors = unknown_fields(values, {"name", "position"})
    name = _name(values, errors, required=False)
    position = values.get("position")
    if position is not None and (not isinstance(position, int) or position < 0):
        errors.append(FieldError("position", "A whole number from 0."))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        pipeline = selectors.pipeline_get(workspace, pipeline_id)
        if name is not None:
            pipeline.name = name
        try:
            with transaction.atomic():
                pipeline.save(update_fields=["name"])
        except IntegrityError:
            raise ValidationFailed(
                [FieldError("name", "Another pipeline has this name.")]
            ) from None
        if position is not None:
            ordered = [
                p.pk for p in Pipeline.objects.filter(workspace=workspace) if p.pk != pipeline.pk
            ]
            ordered.insert(min(position, len(ordered)), pipeline.pk)
            for index, pk in enumerate(ordered):
                Pipeline.objects.filter(pk=pk).update(position=index)
        audit_record(workspace=workspace, actor=actor, action="pipeline.updated", obj=pipeline)
    return selectors.pipeline_get(workspace, pipeline_id)


def pipeline_delete(*, workspace: Workspace, actor: Actor, pipeline_id: int) -> None:
    """Delete an empty pipeline; one with deals, or the workspace's only one, is a Conflict."""
    with transaction.atomic():
        pipeline = selectors.pipeline_get(workspace, pipeline_id)
        if Deal.objects.filter(workspace=workspace, pipeline=pipeline).exists():
            raise Conflict("This pipeline has deals: move or delete them first.", code="has_deals")
        if Pipeline.objects.filter(workspace=workspace).count() == 1:
            raise Conflict("A workspace keeps at least one pipeline.", code="last_pipeline")
        audit_record(workspace=workspace, actor=actor, action="pipeline.deleted", obj=pipeline)
        pipeline.delete()


# --- stages ------------------------------------------------------------------------------------


def _stage_clean(
    values: Mapping[str, Any], errors: list[FieldError], *, required: bool
) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        errors.append(FieldError("body", "An object."))
        return {}
    errors += unknown_fields(values, {"name", "probability", "kind", "position"})
    clean: dict[str, Any] = {}
    name = _name(values, errors, required=required)
    if name is not None:
        clean["name"] = name
    if "probability" in values or required:
        probability = values.get("probability", 0 if not required else None)
        if (
            isinstance(probability, bool)
            or not isinstance(probability, int)
            or not 0 <= probability <= 100
        ):
            errors.append(FieldError("probability", "A whole number from 0 to 100."))
        else:
            clean["probability"] = probability
    if "kind" in values or required:
        kind = values.get("kind", StageKind.OPEN)
        if kind not in StageKind.values:
            errors.append(FieldError("kind", "One of open, won, lost."))
        else:
            clean["kind"] = kind
    return clean


def stage_create(
    *, workspace: Workspace, actor: Actor, pipeline_id: int, values: Mapping[str, Any]
) -> Stage:
    """A new stage at ``position`` (default: before the first won or lost stage, or last)."""
    errors: list[FieldError] = []
    values = dict(values)
    values.setdefault("kind", StageKind.OPEN)
    values.setdefault("probability", 0)
    position = values.pop("position", None)
    clean = _stage_clean(values, errors, required=True)
    if position is not None and (not isinstance(position, int) or position < 0):
        errors.append(FieldError("position", "A whole number from 0."))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        pipeline = (
            Pipeline.objects.select_for_update().filter(workspace=workspace, pk=pipeline_id).first()
        )
        if pipeline is None:
            raise NotFound("No such pipeline.")
        ordered = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id"))
        if position is None:
            closing = [i for i, s in enumerate(ordered) if s.kind != StageKind.OPEN]
            position = closing[0] if closing and clean["kind"] == StageKind.OPEN else len(ordered)
        try:
            with transaction.atomic():
                stage = Stage.objects.create(workspace=workspace, pipeline=pipeline, **clean)
        except IntegrityError:
            raise ValidationFailed(
                [FieldError("name", "Another stage of this pipeline has this name.")]
            ) from None
        ordered.insert(min(position, len(ordered)), stage)
        _positions_write(ordered)
        audit_record(workspace=workspace, actor=actor, action="stage.created", obj=stage)
    return selectors.stage_get(workspace, stage.pk)


def _positions_write(stages: Sequence[Stage]) -> None:
    for index, stage in enumerate(stages):
        if stage.position != index:
            Stage.objects.filter(pk=stage.pk).update(position=index)
            stage.position = index


def stage_update(
    *, workspace: Workspace, actor: Actor, stage_id: int, values: Mapping[str, Any]
) -> Stage:
    """Rename a stage, change its default probability (open deals that follow the default
    take the new one) or its kind (only while it holds no deal)."""
    errors: list[FieldError] = []
    clean = _stage_clean(values, errors, required=False)
    if "position" in values:
        errors.append(FieldError("position", "Use the reorder endpoint."))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        stage = selectors.stage_get(workspace, stage_id)
        if "kind" in clean and clean["kind"] != stage.kind:
            if Deal.objects.filter(workspace=workspace, stage=stage).exists():
                raise ValidationFailed(
                    [FieldError("kind", "This stage holds deals: its kind stays.")]
                )
            others_open = Stage.objects.filter(
                pipeline=stage.pipeline, kind=StageKind.OPEN
            ).exclude(pk=stage.pk)
            if stage.kind == StageKind.OPEN and not others_open.exists():
                raise ValidationFailed(
                    [FieldError("kind", "A pipeline needs at least one open stage.")]
                )
        for key, value in clean.items():
            setattr(stage, key, value)
        try:
            with transaction.atomic():
                stage.save()
        except IntegrityError:
            raise ValidationFailed(
                [FieldError("name", "Another stage of this pipeline has this name.")]
            ) from None
        if "probability" in clean:
            Deal.objects.filter(workspace=workspace, stage=stage, probability_manual=False).update(
                probability=stage.probability
            )
        audit_record(workspace=workspace, actor=actor, action="stage.updated", obj=stage)
    return stage


def stage_reorder(
    *, workspace: Workspace, actor: Actor, pipeline_id: int, stage_ids: Sequence[int]
) -> Pipeline:
    """Put the pipeline's stages in this order; ``stage_ids`` must name each of them once."""
    with transaction.atomic():
        pipeline = selectors.pipeline_get(workspace, pipeline_id)
        stages = {stage.pk: stage for stage in pipeline.stages.all()}
        if sorted(stage_ids) != sorted(stages) or len(set(stage_ids)) != len(stage_ids):
            raise ValidationFailed(
                [FieldError("stage_ids", "Name every stage of this pipeline once.")]
            )
        _positions_write([stages[pk] for pk in stage_ids])
        audit_record(
            workspace=workspace, actor=actor, action="pipeline.stages_reordered", obj=pipeline
        )
    return selectors.pipeline_get(workspace, pipeline_id)


def stage_delete(
    *, workspace: Workspace, actor: Actor, stage_id: int, move_to_stage_id: int | None = None
) -> None:
    """Delete a stage. Its deals, if any, move first to ``move_to_stage_id`` (a stage of the
    same pipeline and kind), each move recorded; without it a stage with deals is a
    Conflict. The last open stage of a pipeline stays."""
    with transaction.atomic():
        stage = selectors.stage_get(workspace, stage_id)
        siblings = Stage.objects.filter(pipeline=stage.pipeline).exclude(pk=stage.pk)
        if stage.kind == StageKind.OPEN and not siblings.filter(kind=StageKind.OPEN).exists():
            raise Conflict("A pipeline needs at least one open stage.", code="last_open_stage")
        held = Deal.objects.filter(workspace=workspace, stage=stage)
        if held.exists():
            if move_to_stage_id is None:
                raise Conflict(
                    "This stage holds deals: choose a stage to move them to.", code="has_deals"
                )
            target = siblings.filter(pk=move_to_stage_id, kind=stage.kind).first()
            if target is None:
                raise ValidationFailed(
                    [FieldError("move_to_stage_id", "A stage of the same pipeline and kind.")]
                )
            _deals_move_all(workspace, actor, held, stage, target)
        audit_record(workspace=workspace, actor=actor, action="stage.deleted", obj=stage)
        stage.delete()


def _deals_move_all(
    workspace: Workspace, actor: Actor, deals, source: Stage, target: Stage
) -> None:
    """Set-based: every deal of ``source`` to ``target`` with one history row each."""
    now = timezone.now()
    rows = list(deals.select_for_update().order_by("pk").values_list("pk", "stage_entered_at"))
    DealStageChange.objects.bulk_create(
        DealStageChange(
            workspace=workspace,
            deal_id=pk,
            from_stage=source,
            to_stage=target,
            from_stage_name=source.name,
            to_stage_name=target.name,
            seconds_in_from_stage=max(int((now - entered).total_seconds()), 0),
            at=now,
            by_user_id=actor.user_id,
            by_label=actor.label[:200],
        )
        for pk, entered in rows
    )
    ids = [pk for pk, _ in rows]
    Deal.objects.filter(pk__in=ids).update(stage=target, stage_entered_at=now, updated_at=now)
    Deal.objects.filter(pk__in=ids, probability_manual=False).update(probability=target.probability)
