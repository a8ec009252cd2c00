"""The flow editor's step pages: choose a step's type and fill in its settings (a new step
at a place of the flow, or an existing one), remove a step, and the enrolments of a
sequence (who waits at a step, who finished how) with "take out". Marketing's
(``manage_forms``) except the enrolments list, which every member may read."""

import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.contacts.activity_kinds import ACTIVITY_KINDS
from leadflow.contacts.conditions import ConditionContext
from leadflow.contacts.models import LifecycleStage
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Membership
from leadflow.nurture.models import (
    MarketingTemplate,
    Message,
    Segment,
    SegmentKind,
    SendingIdentity,
)
from leadflow.nurture.models.sequences import Enrollment, EnrollmentStatus, Sequence
from leadflow.nurture.selectors import sequences as selectors
from leadflow.nurture.sequence_steps import STEP_TYPES
from leadflow.nurture.services import sequence_edit
from leadflow.nurture.services import sequences as services
from leadflow.web.access import workspace_view
from leadflow.web.conditions_form import tree_from_post
from leadflow.web.views.common import PAGE_SIZE, render_page
from leadflow.web.views.segments import condition_editor
from leadflow.web.views.sequences import SECTION, TYPE_LABELS, WEEKDAYS

MANAGE = "manage_forms"
UNITS = (("minutes", 60), ("hours", 3600), ("days", 86400))
STEP_FIELD = re.compile(r"^steps\[\d+\]\.(\w+)")


def _back(request: HttpRequest, sequence_id: int) -> HttpResponse:
    return HttpResponseRedirect(
        reverse("sequence_detail", args=[request.workspace.slug, sequence_id])
    )


def _duration(post, prefix: str) -> int | str:
    raw = post.get(f"{prefix}_amount", "").strip()
    unit = dict(UNITS).get(post.get(f"{prefix}_unit", "days"), 86400)
    return int(raw) * unit if raw.isdecimal() else raw


def _duration_values(seconds: int | None) -> tuple[str, str]:
    if not seconds:
        return "", "days"
    for name, size in reversed(UNITS):
        if seconds % size == 0:
            return str(seconds // size), name
    return str(seconds // 60), "minutes"


def _number(raw: str) -> int | str:
    raw = (raw or "").strip()
    return int(raw) if raw.isdecimal() else raw


def step_from_post(request: HttpRequest, kind: str) -> dict[str, Any]:
    """The step's settings as the form sent them (checked by the service)."""
    post = request.POST
    data: dict[str, Any] = {"type": kind}
    if kind == "email":
        data["template_id"] = _number(post.get("template_id", "")) or None
        data["identity_id"] = _number(post.get("identity_id", "")) or None
        for key in ("template_id", "identity_id"):
            if isinstance(data[key], str):
                raise ValidationFailed([FieldError(key, "Choose one.")])
    elif kind == "wait":
        data["seconds"] = _duration(post, "wait")
    elif kind == "wait_for":
        data["kind"] = post.get("activity_kind", "")
        data["timeout_seconds"] = _duration(post, "timeout")
    elif kind == "wait_until":
        data["weekdays"] = [int(day) for day in post.getlist("weekdays") if day.isdecimal()]
        data["time"] = post.get("time", "")
    elif kind == "branch":
        context = ConditionContext(workspace=request.workspace, user_id=request.user.pk)
        data["conditions"] = tree_from_post(post, context, prefix="conditions")
    elif kind in ("tag", "untag"):
        data["tag"] = post.get("tag", "")
    elif kind == "stage":
        data["stage"] = post.get("stage", "")
    elif kind == "field":
        data["field"] = post.get("field", "")
        data["value"] = post.get("value", "")
    elif kind == "owner":
        data["user_id"] = _number(post.get("user_id", ""))
    elif kind == "list_add":
        data["segment_id"] = _number(post.get("segment_id", ""))
    elif kind == "enroll":
        data["sequence_id"] = _number(post.get("sequence_id", ""))
    elif kind == "sms":
        data["text"] = post.get("text", "")
    elif kind in ("notify_owner", "followup"):
        data["title"] = post.get("title", "")
        if kind == "followup":
            data["due_hours"] = _number(post.get("due_hours", ""))
            data["kind"] = post.get("followup_kind", "call")
    return data


def _settable_fields(workspace) -> list[tuple[str, str]]:
    """What a "Set a field" step may set: the descriptive fields, then the custom fields
    that do not identify a person."""
    from leadflow.contacts.models import CustomField
    from leadflow.contacts.services.bulk import SETTABLE_FIELDS
    from leadflow.web.forms import FIELD_LABELS

    fields = [
        (name, FIELD_LABELS.get(name, name.replace("_", " ").capitalize()))
        for name in SETTABLE_FIELDS
    ]
    custom = CustomField.objects.filter(workspace=workspace, identifying=False).order_by(
        "position", "pk"
    )
    return fields + [(f"custom_fields.{field.key}", field.label) for field in custom]


def _errors(failure: ValidationFailed) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in failure.errors:
        match = STEP_FIELD.match(error.field)
        key = match.group(1) if match else error.field
        errors.setdefault(key, []).append(error.message)
    return errors


def _form_page(request, sequence, kind, step, errors=None, status=200, place=None) -> HttpResponse:
    workspace = request.workspace
    step = step or {"type": kind}
    message = (
        Message.objects.filter(workspace=workspace, pk=step.get("message_id")).first()
        if step.get("message_id")
        else None
    )
    branch_errors = [
        FieldError(field.replace("conditions", "conditions", 1), text)
        for field, texts in (errors or {}).items()
        if field.startswith("conditions")
        for text in texts
    ]
    page = {
        **SECTION,
        "sequence": sequence,
        "kind": kind,
        "kind_label": TYPE_LABELS.get(kind, kind),
        "step": step,
        "place": place or {},
        "errors": errors or {},
        "units": [name for name, _ in UNITS],
        "wait": _duration_values(step.get("seconds")),
        "timeout": _duration_values(step.get("timeout_seconds")),
        "weekdays": list(enumerate(WEEKDAYS)),
        "templates": MarketingTemplate.objects.filter(workspace=workspace).order_by("name"),
        "identities": SendingIdentity.objects.filter(workspace=workspace).order_by("from_address"),
        "message": message,
        "activity_kinds": sorted(
            ((key, definition.label) for key, definition in ACTIVITY_KINDS.items()),
            key=lambda pair: pair[1].lower(),
        ),
        "stages": LifecycleStage.choices,
        "settable_fields": _settable_fields(workspace),
        "followup_kinds": [
            ("call", "Call"),
            ("email", "Email"),
            ("meeting", "Meeting"),
            ("to_do", "To-do"),
        ],
        "members": Membership.objects.filter(workspace=workspace).select_related("user"),
        "lists": Segment.objects.filter(workspace=workspace, kind=SegmentKind.STATIC).order_by(
            "name"
        ),
        "sequences": Sequence.objects.filter(workspace=workspace)
        .exclude(pk=sequence.pk)
        .order_by("name"),
        "editor": condition_editor(
            step.get("conditions") or {},
            request,
            prefix="conditions",
            legend="Contacts who match go the “Yes” way",
            errors=branch_errors,
        )
        if kind == "branch"
        else None,
    }
    return render_page(request, "web/sequences/step.html", page, status=status)


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def step_new(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """A new step after ``after`` on its ``link`` (first when no ``after``): its type
    first, then its settings."""
    sequence = selectors.sequence_get(request.workspace, sequence_id)
    source = request.POST if request.method == "POST" else request.GET
    after = _number(source.get("after", ""))
    after = after if isinstance(after, int) else None
    link = source.get("link", "next")
    place = {"after": after, "link": link}
    kind = source.get("type", "")
    if kind not in STEP_TYPES:
        types = [(key, TYPE_LABELS[key]) for key in STEP_TYPES]
        page = {**SECTION, "sequence": sequence, "types": types, "place": place}
        return render_page(request, "web/sequences/step_type.html", page)
    if request.method == "GET":
        return _form_page(request, sequence, kind, None, place=place)
    try:
        data = step_from_post(request, kind)
        sequence_edit.step_add(
            workspace=request.workspace,
            actor=request.actor,
            sequence_id=sequence.pk,
            after=after,
            link=link,
            data=data,
        )
    except ValidationFailed as failure:
        return _form_page(
            request, sequence, kind, _echo(request, kind), _errors(failure), status=422, place=place
        )
    messages.success(request, f"Added “{TYPE_LABELS[kind]}”.")
    return _back(request, sequence.pk)


def _echo(request: HttpRequest, kind: str) -> dict[str, Any]:
    """What the form sent, to show again beside its errors."""
    try:
        data = step_from_post(request, kind)
    except ValidationFailed:
        data = {"type": kind}
    for key in ("seconds", "timeout_seconds"):
        if not isinstance(data.get(key), int):
            data.pop(key, None)
    return data


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def step_edit(request: HttpRequest, sequence_id: int, step_id: int) -> HttpResponse:
    sequence = selectors.sequence_get(request.workspace, sequence_id)
    step = sequence.step(step_id)
    if step is None:
        raise NotFound("No such step.")
    if request.method == "GET":
        return _form_page(request, sequence, step["type"], step)
    try:
        data = step_from_post(request, step["type"])
        sequence_edit.step_change(
            workspace=request.workspace,
            actor=request.actor,
            sequence_id=sequence.pk,
            step_id=step_id,
            data=data,
        )
    except ValidationFailed as failure:
        echo = {**step, **_echo(request, step["type"])}
        return _form_page(request, sequence, step["type"], echo, _errors(failure), status=422)
    messages.success(request, f"Saved “{TYPE_LABELS[step['type']]}”.")
    return _back(request, sequence.pk)


@workspace_view(MANAGE)
@require_POST
def step_delete(request: HttpRequest, sequence_id: int, step_id: int) -> HttpResponse:
    try:
        sequence_edit.step_remove(
            workspace=request.workspace,
            actor=request.actor,
            sequence_id=sequence_id,
            step_id=step_id,
        )
        messages.success(request, "Removed the step.")
    except ValidationFailed as failure:
        messages.error(request, " ".join(e.message for e in failure.errors))
    return _back(request, sequence_id)


@workspace_view()
def enrollment_list(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """A sequence's enrolments, newest first: all, those in a status, or those waiting
    at a step (``?step=``)."""
    sequence = selectors.sequence_get(request.workspace, sequence_id)
    status = request.GET.get("status") or None
    status = status if status in EnrollmentStatus.values else None
    step = _number(request.GET.get("step", ""))
    step = step if isinstance(step, int) else None
    before = _number(request.GET.get("before", ""))
    rows, more = selectors.enrollments_page(
        sequence,
        status=status,
        step=step,
        before_id=before if isinstance(before, int) else None,
        limit=PAGE_SIZE,
    )
    chosen = sequence.step(step) if step else None
    page = {
        **SECTION,
        "sequence": sequence,
        "rows": rows,
        "more": more,
        "status": status,
        "step": chosen,
        "step_label": TYPE_LABELS.get(chosen["type"], "") if chosen else "",
        "statuses": EnrollmentStatus.choices,
    }
    return render_page(request, "web/sequences/enrollments.html", page)


@workspace_view(MANAGE)
@require_POST
def enrollment_remove(request: HttpRequest, sequence_id: int, enrollment_id: int) -> HttpResponse:
    sequence = selectors.sequence_get(request.workspace, sequence_id)
    if not Enrollment.objects.filter(sequence=sequence, pk=enrollment_id).exists():
        raise NotFound("No such enrolment.")
    try:
        services.enrollment_remove(
            workspace=request.workspace, actor=request.actor, enrollment_id=enrollment_id
        )
        messages.success(request, "Taken out of the sequence.")
    except Conflict as conflict:
        messages.error(request, str(conflict))
    return HttpResponseRedirect(
        reverse("sequence_enrollments", args=[request.workspace.slug, sequence.pk])
    )
