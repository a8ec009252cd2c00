"""Sequences in the app: the list with each one's figures, the settings form (name,
trigger, re-entry, goal and exit conditions in the condition editor), and the flow: the
steps drawn top to bottom, a branch's two ways side by side, each step with who waits at it
now, how many passed it and how many of those met the goal, with its edit / remove / add
buttons (web.views.sequence_steps). Reading is for every member; building and enrolling is
marketing's (``manage_forms``)."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.capture.models import Magnet
from leadflow.contacts.activity_kinds import activity_kind_label
from leadflow.contacts.conditions import ConditionContext
from leadflow.contacts.models import LifecycleStage
from leadflow.core.errors import ValidationFailed
from leadflow.nurture.models import Segment
from leadflow.nurture.models.sequences import Reentry, SequenceStatus
from leadflow.nurture.selectors import sequences as selectors
from leadflow.nurture.selectors.sequences import StepFigures
from leadflow.nurture.sequence_steps import TRIGGER_MATCH
from leadflow.nurture.services import sequences as services
from leadflow.web.access import workspace_view
from leadflow.web.conditions_form import tree_from_post
from leadflow.web.forms import error_map
from leadflow.web.views.segments import condition_editor, contact_ids_posted

MANAGE = "manage_forms"
TRIGGER_KEYS = ("kind", "segment_id", "tag", "to", "form_id", "offer_id", "magnet_id")
SECTION = {"section": "sequences"}
TRIGGERS = {
    "manual": "Only when enrolled by hand or by API",
    "segment.entered": "Entered a segment",
    "segment.left": "Left a segment",
    "form.submitted": "Submitted a form",
    "tag.added": "Tag added",
    "stage.changed": "Lifecycle stage changed",
    "lead.handed_back": "Rejected by sales (handed back)",
    "offer.redeemed": "Redeemed an offer",
    "magnet.downloaded": "Downloaded a lead magnet",
}
TYPE_LABELS = {
    "email": "Send email",
    "wait": "Wait",
    "wait_until": "Wait until a day and time",
    "wait_for": "Wait for an activity",
    "branch": "Branch on conditions",
    "tag": "Add a tag",
    "untag": "Remove a tag",
    "stage": "Set the lifecycle stage",
    "field": "Set a field",
    "owner": "Assign an owner",
    "list_add": "Add to a static list",
    "enroll": "Enrol in another sequence",
    "sms": "Send a text message",
    "notify_owner": "Notify the owner",
    "followup": "Create a follow-up for sales",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def duration_text(seconds: int) -> str:
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def step_summary(step: dict[str, Any], names: dict[str, dict]) -> str:
    kind = step["type"]
    if kind == "email":
        return names["messages"].get(step.get("message_id"), f"Message {step.get('message_id')}")
    if kind == "wait":
        return duration_text(step["seconds"])
    if kind == "wait_until":
        days = ", ".join(WEEKDAYS[day] for day in step["weekdays"])
        return f"{days} at {step['time']} (their time)"
    if kind == "wait_for":
        label = activity_kind_label(step["kind"])
        return f"{label}, at most {duration_text(step['timeout_seconds'])}"
    if kind == "branch":
        return conditions_text(step.get("conditions") or {})
    if kind in ("tag", "untag"):
        return step["tag"]
    if kind == "stage":
        return LifecycleStage(step["stage"]).label
    if kind == "field":
        name = step["field"].removeprefix("custom_fields.")
        value = step.get("value")
        return f"{name} = {value}" if value not in (None, "") else f"{name} cleared"
    if kind == "owner":
        return names["members"].get(step["user_id"], f"Member {step['user_id']}")
    if kind == "list_add":
        return names["segments"].get(step["segment_id"], f"List {step['segment_id']}")
    if kind == "enroll":
        return names["sequences"].get(step["sequence_id"], f"Sequence {step['sequence_id']}")
    if kind == "notify_owner":
        return step["title"]
    if kind == "sms":
        return step["text"][:80]
    if kind == "followup":
        due = duration_text(step.get("due_hours", 24) * 3600) if step.get("due_hours") else "now"
        return f"{step.get('kind', 'call').replace('_', '-')}: {step['title']}, due in {due}"
    return ""


def conditions_text(tree: dict[str, Any]) -> str:
    """A condition tree in a line: "country is US and tags has any of vip"."""
    from leadflow.web.conditions_form import OPERATOR_LABELS, value_text

    if "field" in tree:
        value = "" if "value" not in tree else f" {value_text(tree['value'])}"
        field_name = str(tree["field"]).replace("_", " ")
        return (
            f"{field_name} {OPERATOR_LABELS.get(tree.get('operator'), tree.get('operator'))}{value}"
        )
    joiner = " or " if tree.get("match") == "any" else " and "
    parts = [conditions_text(child) for child in tree.get("children") or []]
    text = joiner.join(f"({part})" if " and " in part or " or " in part else part for part in parts)
    return text or "no conditions"


@dataclass
class Node:
    """One step as the flow shows it; ``ways`` for a branch or a wait for an activity
    (label, link, the flow on that side); ``seen`` when it was drawn earlier (a join)."""

    step: dict[str, Any]
    label: str
    summary: str
    figures: StepFigures
    ways: list[tuple[str, str, list]] = field(default_factory=list)
    seen: bool = False


WAYS = {
    "branch": (("Yes", "yes"), ("No", "no")),
    "wait_for": (("Done", "next"), ("Timed out", "timeout_next")),
}


def flow_of(sequence, figures, names) -> list[Node]:
    """The steps from the first, in order; two ways side by side where they part."""
    by_id = {step["id"]: step for step in sequence.steps or []}
    drawn: set[int] = set()

    def walk(step_id: int | None) -> list[Node]:
        nodes = []
        while step_id is not None and step_id in by_id:
            step = by_id[step_id]
            node = Node(
                step=step,
                label=TYPE_LABELS.get(step["type"], step["type"]),
                summary=step_summary(step, names),
                figures=figures.steps.get(step_id, StepFigures()),
                seen=step_id in drawn,
            )
            nodes.append(node)
            if node.seen:
                break
            drawn.add(step_id)
            if step["type"] in WAYS:
                node.ways = [
                    (label, link, walk(step.get(link))) for label, link in WAYS[step["type"]]
                ]
                break
            step_id = step.get("next")
        return nodes

    return walk(sequence.first_step)


def names_for(workspace) -> dict[str, dict]:
    from leadflow.core.models import Membership
    from leadflow.nurture.models import Message
    from leadflow.nurture.models.sequences import Sequence

    return {
        "messages": dict(
            Message.objects.filter(workspace=workspace).values_list("pk", "template__name")
        ),
        "segments": dict(Segment.objects.filter(workspace=workspace).values_list("pk", "name")),
        "magnets": dict(Magnet.objects.filter(workspace=workspace).values_list("pk", "name")),
        "sequences": dict(Sequence.objects.filter(workspace=workspace).values_list("pk", "name")),
        "members": dict(
            Membership.objects.filter(workspace=workspace).values_list("user_id", "user__email")
        ),
    }


def trigger_text(trigger: dict, names: dict[str, dict]) -> str:
    kind = (trigger or {}).get("kind", "manual")
    text = TRIGGERS.get(kind, kind)
    if trigger.get("segment_id"):
        text += f": {names['segments'].get(trigger['segment_id'], trigger['segment_id'])}"
    if trigger.get("magnet_id"):
        magnet_names = names.get("magnets", {})
        text += f": {magnet_names.get(trigger['magnet_id'], trigger['magnet_id'])}"
    for key in ("form_id", "tag", "to", "offer_id"):
        if trigger.get(key) not in (None, ""):
            text += f": {trigger[key]}"
    return text


def contact_sequences_context(request: HttpRequest, contact) -> dict:
    """The contact page's Sequences card: where the contact is now, and how they left the
    ones they finished (one query)."""
    rows = selectors.contact_enrollments(request.workspace, contact.pk)
    for row in rows:
        step = row.sequence.step(row.step) if row.status == "active" else None
        row.step_label = TYPE_LABELS.get(step["type"], "") if step else ""
    return {"contact_sequences": rows}


@workspace_view()
def sequence_list(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    rows = selectors.sequence_list(request.workspace, archived=archived)
    names = names_for(request.workspace)
    for row in rows:
        row.trigger_text = trigger_text(row.trigger, names)
        row.rate = round(100 * row.converted / row.enrolled, 1) if row.enrolled else None
    from leadflow.web.views.common import render_page

    return render_page(
        request, "web/sequences/list.html", {**SECTION, "rows": rows, "archived": archived}
    )


def _context(request: HttpRequest) -> ConditionContext:
    return ConditionContext(workspace=request.workspace, user_id=request.user.pk)


def _editors(request, sequence, errors=None, trees=None):
    trees = trees or {
        "goal": sequence.goal if sequence else {},
        "exit_conditions": sequence.exit_conditions if sequence else {},
    }
    errors = errors or []
    return {
        key: condition_editor(
            trees[key],
            request,
            prefix=key,
            legend=legend,
            errors=[
                type(e)(e.field.replace(key, "conditions", 1), e.message)
                for e in errors
                if e.field.startswith(key)
            ],
        )
        for key, legend in (
            ("goal", "Goal: a contact converts (and leaves) when they match"),
            ("exit_conditions", "Exit: a contact leaves when they match"),
        )
    }


def _trigger_from_post(post) -> dict[str, Any]:
    kind = post.get("trigger_kind", "manual")
    trigger: dict[str, Any] = {"kind": kind}
    for key in TRIGGER_MATCH.get(kind, ()):
        raw = post.get(f"trigger_{key}", "").strip()
        if raw:
            trigger[key] = int(raw) if key.endswith("_id") and raw.isdecimal() else raw
    return trigger


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def sequence_edit(request: HttpRequest, sequence_id: int | None = None) -> HttpResponse:
    """A new sequence, or a sequence's settings (not its steps: the flow page)."""
    from leadflow.web.views.common import render_page

    workspace = request.workspace
    sequence = selectors.sequence_get(workspace, sequence_id) if sequence_id else None
    values = {
        "name": sequence.name if sequence else "",
        "description": sequence.description if sequence else "",
        "reentry": sequence.reentry if sequence else Reentry.NEVER,
        "trigger": (sequence.trigger if sequence else {"kind": "manual"}) or {"kind": "manual"},
        "exit_on_reply": sequence.exit_on_reply if sequence else False,
    }
    errors: dict = {}
    editors = _editors(request, sequence)
    status = 200
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", ""),
            "description": request.POST.get("description", ""),
            "reentry": request.POST.get("reentry", Reentry.NEVER),
            "trigger": _trigger_from_post(request.POST),
            "exit_on_reply": request.POST.get("exit_on_reply") == "1",
        }
        trees = {}
        try:
            for key in ("goal", "exit_conditions"):
                trees[key] = tree_from_post(request.POST, _context(request), prefix=key)
            data = {**values, **trees}
            if sequence is None:
                sequence = services.sequence_create(
                    workspace=workspace, actor=request.actor, values=data
                )
                messages.success(request, f"Created “{sequence.name}”: now add its steps.")
            else:
                services.sequence_update(
                    workspace=workspace, actor=request.actor, sequence_id=sequence.pk, values=data
                )
                messages.success(request, f"Saved “{values['name']}”.")
            return HttpResponseRedirect(
                reverse("sequence_detail", args=[workspace.slug, sequence.pk])
            )
        except ValidationFailed as failure:
            errors = error_map(
                failure, rename={f"trigger.{key}": f"trigger_{key}" for key in TRIGGER_KEYS}
            )
            editors = _editors(
                request,
                sequence,
                failure.errors,
                trees={"goal": {}, "exit_conditions": {}, **trees},
            )
            status = 422
    page = {
        **SECTION,
        "sequence": sequence,
        "values": values,
        "errors": errors,
        "editors": editors,
        "triggers": TRIGGERS,
        "reentries": Reentry.choices,
        "segments": Segment.objects.filter(workspace=workspace).order_by("name"),
        "magnets": Magnet.objects.filter(workspace=workspace).order_by("name"),
        "stages": LifecycleStage.choices,
    }
    return render_page(request, "web/sequences/edit.html", page, status=status)


@workspace_view()
def sequence_detail(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """The flow with its figures."""
    from leadflow.web.views.common import render_page

    sequence = selectors.sequence_get(request.workspace, sequence_id)
    figures = selectors.sequence_figures(sequence)
    names = names_for(request.workspace)
    page = {
        **SECTION,
        "sequence": sequence,
        "figures": figures,
        "rate": round(100 * figures.conversion_rate, 1)
        if figures.conversion_rate is not None
        else None,
        "flow": flow_of(sequence, figures, names),
        "trigger_text": trigger_text(sequence.trigger, names),
        "statuses": SequenceStatus,
        "goal_count": _count(sequence.goal),
        "exit_count": _count(sequence.exit_conditions),
    }
    return render_page(request, "web/sequences/detail.html", page)


def _count(tree: dict | None) -> int:
    tree = tree or {}
    return 1 if "field" in tree else len(tree.get("children") or [])


@workspace_view(MANAGE)
@require_POST
def sequence_status(request: HttpRequest, sequence_id: int) -> HttpResponse:
    status = request.POST.get("status", "")
    try:
        sequence = services.sequence_status_set(
            workspace=request.workspace, actor=request.actor, sequence_id=sequence_id, status=status
        )
        messages.success(request, f"“{sequence.name}” is {sequence.get_status_display().lower()}.")
    except ValidationFailed as failure:
        messages.error(request, " ".join(e.message for e in failure.errors))
    return HttpResponseRedirect(
        reverse("sequence_detail", args=[request.workspace.slug, sequence_id])
    )


@workspace_view(MANAGE)
@require_POST
def sequence_enroll(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """Enrol pasted emails or contact ids (as the re-entry rule allows)."""
    try:
        enrolled = services.sequence_enroll(
            workspace=request.workspace,
            actor=request.actor,
            sequence_id=sequence_id,
            contact_ids=contact_ids_posted(request),
            source="manual",
        )
        noun = "contact" if len(enrolled) == 1 else "contacts"
        messages.success(request, f"Enrolled {len(enrolled)} {noun}.")
    except ValidationFailed as failure:
        messages.error(request, " ".join(e.message for e in failure.errors))
    return HttpResponseRedirect(
        reverse("sequence_detail", args=[request.workspace.slug, sequence_id])
    )


@workspace_view(MANAGE)
@require_POST
def sequence_bulk_enroll(request: HttpRequest) -> HttpResponse:
    """The contacts list's "Enrol": the checked contacts the member may see, into the
    chosen active sequence; back to the list."""
    from leadflow.contacts.selectors import contacts_visible
    from leadflow.web.access import safe_next

    back = safe_next(request, reverse("contact_list", args=[request.workspace.slug]))
    raw = request.POST.get("sequence", "")
    sequence = selectors.sequence_get(request.workspace, int(raw)) if raw.isdecimal() else None
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdecimal()]
    if sequence is None or not ids:
        messages.error(request, "Select contacts and a sequence first.")
        return HttpResponseRedirect(back)
    visible = contacts_visible(request.workspace, request.actor).filter(pk__in=ids)
    try:
        enrolled = services.sequence_enroll(
            workspace=request.workspace,
            actor=request.actor,
            sequence_id=sequence.pk,
            contact_ids=list(visible.values_list("pk", flat=True)),
            source="manual",
        )
    except ValidationFailed as failure:
        messages.error(request, " ".join(e.message for e in failure.errors))
        return HttpResponseRedirect(back)
    noun = "contact" if len(enrolled) == 1 else "contacts"
    messages.success(request, f"Enrolled {len(enrolled)} {noun} in “{sequence.name}”.")
    return HttpResponseRedirect(back)


@workspace_view(MANAGE)
@require_POST
def sequence_delete(request: HttpRequest, sequence_id: int) -> HttpResponse:
    from leadflow.core.errors import Conflict

    sequence = selectors.sequence_get(request.workspace, sequence_id)
    try:
        services.sequence_delete(
            workspace=request.workspace, actor=request.actor, sequence_id=sequence.pk
        )
    except Conflict as conflict:
        messages.error(request, str(conflict))
        return HttpResponseRedirect(
            reverse("sequence_detail", args=[request.workspace.slug, sequence.pk])
        )
    messages.success(request, f"Deleted “{sequence.name}”.")
    return HttpResponseRedirect(reverse("sequence_list", args=[request.workspace.slug]))
