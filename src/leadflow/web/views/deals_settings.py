"""Settings → Deals: the deal settings (currency, lost reasons, nurture when the last open
deal is lost), the pipelines in order (the first is the default) and a pipeline's stages.

Every member may read these pages (a salesperson sees how the board is built); changing
them needs ``manage_settings`` (owners, admins), as the routing settings. Ids in URLs are
looked up in the member's workspace (``deals.selectors``): another workspace's pipeline or
stage answers 404. Writes go through ``deals.services``; a refused input is shown beside
its input with 422, a Conflict as a message on the page it came from, never a 500.
"""

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.core.errors import Conflict, FieldError, ValidationFailed
from leadflow.deals import selectors, services
from leadflow.deals.models import Deal, Pipeline, Stage, StageKind
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import render_page

MANAGE = "manage_settings"
SECTION = "deals"
SETTINGS_INPUTS = ("currency", "lost_reasons", "nurture_when_all_lost")
STAGE_INPUTS = ("name", "probability", "kind")


def _int(value: str) -> int | str:
    """A posted whole number, or the text itself (so the service names the field)."""
    value = (value or "").strip()
    return int(value) if re.fullmatch(r"-?\d{1,9}", value) else value


def _settings_values(found) -> dict:
    return {
        "currency": found.currency,
        "lost_reasons": "\n".join(found.lost_reasons),
        "nurture_when_all_lost": found.nurture_when_all_lost,
    }


def _settings_page(
    request: HttpRequest,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    new_name: str = "",
    pipeline_errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = request.workspace
    services.pipeline_default_ensure(workspace)
    found = selectors.deal_settings_read(workspace)
    errors = errors or {}
    page = {
        "settings_section": SECTION,
        "pipelines": list(selectors.pipeline_list(workspace)),
        "values": values or _settings_values(found),
        "errors": errors,
        "other_errors": non_field_errors(errors, SETTINGS_INPUTS),
        "server_currency": found.default_currency if not found.currency else "",
        "new_name": new_name,
        "pipeline_errors": pipeline_errors or {},
        "may_change": request.membership.can(MANAGE),
    }
    return render_page(request, "web/deals_settings/settings.html", page, status=status)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def deal_settings(request: HttpRequest) -> HttpResponse:
    """The deal settings and the pipelines; a POST saves the deal settings."""
    if request.method == "GET":
        return _settings_page(request)
    if not request.membership.can(MANAGE):
        raise _forbidden()
    post = request.POST
    shown = {
        "currency": post.get("currency", ""),
        "lost_reasons": post.get("lost_reasons", ""),
        "nurture_when_all_lost": post.get("nurture_when_all_lost") == "on",
    }
    try:
        services.deal_settings_update(
            workspace=request.workspace,
            actor=request.actor,
            values={**shown, "lost_reasons": shown["lost_reasons"].splitlines()},
        )
    except ValidationFailed as failure:
        return _settings_page(request, values=shown, errors=error_map(failure), status=422)
    messages.success(request, "Saved the deal settings.")
    return redirect("deal_settings", request.workspace.slug)


def _forbidden() -> HttpForbidden:
    return HttpForbidden("Your role may not change the deal settings.")


# --- pipelines ----------------------------------------------------------------------------------


@workspace_view(MANAGE)
@require_POST
def pipeline_create(request: HttpRequest) -> HttpResponse:
    """A new pipeline, last, with the default stages."""
    name = request.POST.get("name", "")
    try:
        pipeline = services.pipeline_create(
            workspace=request.workspace, actor=request.actor, values={"name": name}
        )
    except ValidationFailed as failure:
        return _settings_page(
            request, new_name=name, pipeline_errors=error_map(failure), status=422
        )
    messages.success(request, f"Added the pipeline “{pipeline.name}” with the default stages.")
    return redirect("deal_settings_pipeline", request.workspace.slug, pipeline.pk)


def _stage_counts(pipeline: Pipeline) -> dict[int, int]:
    """Deals per stage of the pipeline (one query)."""
    rows = (
        Deal.objects.filter(workspace=pipeline.workspace_id, pipeline=pipeline)
        .values("stage_id")
        .annotate(n=Count("pk"))
    )
    return {row["stage_id"]: row["n"] for row in rows}


def _pipeline_page(
    request: HttpRequest,
    pipeline: Pipeline,
    *,
    name: str | None = None,
    name_errors: dict | None = None,
    stage_values: dict | None = None,
    stage_errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    counts = _stage_counts(pipeline)
    stages = list(pipeline.stages.all())
    for stage in stages:
        stage.deal_count = counts.get(stage.pk, 0)
    stage_errors = stage_errors or {}
    page = {
        "settings_section": SECTION,
        "pipeline": pipeline,
        "stages": stages,
        "name": pipeline.name if name is None else name,
        "name_errors": name_errors or {},
        "stage_values": stage_values or {"probability": 0, "kind": StageKind.OPEN},
        "stage_errors": stage_errors,
        "stage_other_errors": non_field_errors(stage_errors, STAGE_INPUTS),
        "kind_choices": StageKind.choices,
        "may_change": request.membership.can(MANAGE),
    }
    return render_page(request, "web/deals_settings/pipeline.html", page, status=status)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def pipeline_detail(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    """A pipeline: its name (a POST renames it) and its stages in order."""
    workspace = request.workspace
    pipeline = selectors.pipeline_get(workspace, pipeline_id)
    if request.method == "GET":
        return _pipeline_page(request, pipeline)
    if not request.membership.can(MANAGE):
        raise _forbidden()
    name = request.POST.get("name", "")
    try:
        pipeline = services.pipeline_update(
            workspace=workspace, actor=request.actor, pipeline_id=pipeline.pk, values={"name": name}
        )
    except ValidationFailed as failure:
        return _pipeline_page(
            request, pipeline, name=name, name_errors=error_map(failure), status=422
        )
    messages.success(request, f"Renamed the pipeline to “{pipeline.name}”.")
    return redirect("deal_settings_pipeline", workspace.slug, pipeline.pk)


@workspace_view(MANAGE)
@require_POST
def pipeline_move(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    """One place up or down; the first is the default pipeline."""
    workspace = request.workspace
    ordered = [p.pk for p in Pipeline.objects.filter(workspace=workspace)]
    pipeline = selectors.pipeline_get(workspace, pipeline_id)
    step = -1 if request.POST.get("direction") == "up" else 1
    position = max(ordered.index(pipeline.pk) + step, 0)
    services.pipeline_update(
        workspace=workspace,
        actor=request.actor,
        pipeline_id=pipeline.pk,
        values={"position": position},
    )
    if position == 0:
        messages.success(request, f"“{pipeline.name}” is the default pipeline now.")
    return redirect("deal_settings", workspace.slug)


@workspace_view(MANAGE)
@require_POST
def pipeline_delete(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    """Delete an empty pipeline; one with deals, or the only one, is refused with why."""
    workspace = request.workspace
    pipeline = selectors.pipeline_get(workspace, pipeline_id)
    try:
        services.pipeline_delete(workspace=workspace, actor=request.actor, pipeline_id=pipeline.pk)
    except Conflict as conflict:
        messages.error(request, f"“{pipeline.name}” stays: {conflict.detail}")
        return redirect("deal_settings", workspace.slug)
    messages.success(request, f"Deleted the pipeline “{pipeline.name}”.")
    return redirect("deal_settings", workspace.slug)


# --- stages -------------------------------------------------------------------------------------


def _stage_posted(request: HttpRequest) -> tuple[dict, dict]:
    """The posted stage as the service takes it, and as the form shows it again."""
    shown = {name: request.POST.get(name, "") for name in STAGE_INPUTS}
    return {**shown, "probability": _int(shown["probability"])}, shown


@workspace_view(MANAGE)
@require_POST
def stage_create(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    """A new stage; before a chosen stage (``before``), else before the first won or lost."""
    workspace = request.workspace
    pipeline = selectors.pipeline_get(workspace, pipeline_id)
    values, shown = _stage_posted(request)
    before = request.POST.get("before", "")
    shown["before"] = before
    if before:
        ids = [stage.pk for stage in pipeline.stages.all()]
        wanted = _int(before)
        values["position"] = ids.index(wanted) if wanted in ids else len(ids)
    try:
        stage = services.stage_create(
            workspace=workspace, actor=request.actor, pipeline_id=pipeline.pk, values=values
        )
    except ValidationFailed as failure:
        return _pipeline_page(
            request, pipeline, stage_values=shown, stage_errors=error_map(failure), status=422
        )
    messages.success(request, f"Added the stage “{stage.name}”.")
    return redirect("deal_settings_pipeline", workspace.slug, pipeline.pk)


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def stage_edit(request: HttpRequest, stage_id: int) -> HttpResponse:
    """A stage's name, default win probability (0-100) and kind (open, won, lost)."""
    workspace = request.workspace
    stage = selectors.stage_get(workspace, stage_id)
    errors: dict = {}
    status = 200
    shown = {"name": stage.name, "probability": stage.probability, "kind": stage.kind}
    if request.method == "POST":
        values, shown = _stage_posted(request)
        try:
            stage = services.stage_update(
                workspace=workspace, actor=request.actor, stage_id=stage.pk, values=values
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, f"Saved the stage “{stage.name}”.")
            return redirect("deal_settings_pipeline", workspace.slug, stage.pipeline_id)
    page = {
        "settings_section": SECTION,
        "stage": stage,
        "values": shown,
        "errors": errors,
        "other_errors": non_field_errors(errors, STAGE_INPUTS),
        "kind_choices": StageKind.choices,
        "deal_count": Deal.objects.filter(workspace=workspace, stage=stage).count(),
    }
    return render_page(request, "web/deals_settings/stage.html", page, status=status)


@workspace_view(MANAGE)
@require_POST
def stage_move(request: HttpRequest, stage_id: int) -> HttpResponse:
    """One place up or down in its pipeline (``deals.services.stage_reorder``)."""
    workspace = request.workspace
    stage = selectors.stage_get(workspace, stage_id)
    ids = list(
        Stage.objects.filter(workspace=workspace, pipeline_id=stage.pipeline_id).values_list(
            "pk", flat=True
        )
    )
    index = ids.index(stage.pk)
    other = index + (-1 if request.POST.get("direction") == "up" else 1)
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
        services.stage_reorder(
            workspace=workspace, actor=request.actor, pipeline_id=stage.pipeline_id, stage_ids=ids
        )
    return redirect("deal_settings_pipeline", workspace.slug, stage.pipeline_id)


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def stage_delete(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Delete a stage. When it holds deals, the page asks which stage of the same kind
    takes them; the last open stage of a pipeline is refused with why."""
    workspace = request.workspace
    stage = selectors.stage_get(workspace, stage_id)
    back = redirect("deal_settings_pipeline", workspace.slug, stage.pipeline_id)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        target = _int(request.POST.get("move_to_stage_id", ""))
        try:
            if isinstance(target, str) and target:
                raise ValidationFailed([FieldError("move_to_stage_id", "Choose a stage.")])
            services.stage_delete(
                workspace=workspace,
                actor=request.actor,
                stage_id=stage.pk,
                move_to_stage_id=target or None,
            )
        except Conflict as conflict:
            if conflict.code != "has_deals":
                messages.error(request, f"“{stage.name}” stays: {conflict.detail}")
                return back
            errors, status = {"move_to_stage_id": [conflict.detail]}, 409
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, f"Deleted the stage “{stage.name}”.")
            return back
    held = Deal.objects.filter(workspace=workspace, stage=stage).count()
    page = {
        "settings_section": SECTION,
        "stage": stage,
        "deal_count": held,
        "targets": [
            (other.pk, other.name)
            for other in Stage.objects.filter(
                workspace=workspace, pipeline_id=stage.pipeline_id, kind=stage.kind
            ).exclude(pk=stage.pk)
        ],
        "errors": errors,
    }
    return render_page(request, "web/deals_settings/stage_delete.html", page, status=status)
