"""Chat in the app: the flows (a list; one page with the settings and a form-based step editor;
publish) and the conversations (a list; one read-only transcript).

A flow's steps are edited as one form: a card per step (its id, kind and the fields of that
kind), "Add a step" re-renders the form with a blank one, a ticked "Remove" drops one; saving
checks the whole graph (``chat.services.flow_update``), whose errors name the step
(``graph.steps[2].next``) and are shown on that step's card. Publishing makes the saved draft
the next version. Reading needs ``read``; writing needs ``manage_forms`` (chat flows are
marketing's, like forms). Conversations follow the sales rule: a member who sees only their
own leads sees the conversations of their contacts and the anonymous ones.
"""

import itertools
import json
import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.chat import selectors, services
from leadflow.chat.graph import CONTACT_FIELDS, INPUTS, KINDS, MEETING_DURATIONS
from leadflow.chat.models import ConversationStatus, FlowStatus
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, member_list
from leadflow.deals.selectors import product_list
from leadflow.web.access import workspace_view
from leadflow.web.views.chat_proactive import proactive_posted, proactive_values
from leadflow.web.views.common import render_page

SECTION = {"section": "chat"}
KIND_LABELS = {
    "message": "Message",
    "question": "Question",
    "condition": "Condition",
    "set_field": "Set a field",
    "tag": "Add a tag",
    "score": "Give points",
    "knowledge": "Answer from the knowledge base",
    "handover": "Hand over to a person",
    "end": "End",
    "product": "Show a product and take an order",
    "meeting": "Book a meeting",
}
STEP_ERROR = re.compile(r"graph\.steps\[(\d+)\](?:\.(\w+))?")
STEP_KEYS = ("id", "kind", "text", "input", "field", "retry_text", "next", "otherwise")
STEP_KEYS += ("tag", "points", "value", "choices", "branches")
# The product and meeting steps' own inputs (chat.graph: product, meeting).
STEP_KEYS += ("product", "buy_label", "decline_label", "paid_text", "paid", "member")
STEP_KEYS += ("duration", "days")


@workspace_view("read")
@require_safe
def flow_list(request: HttpRequest) -> HttpResponse:
    flows = list(selectors.flow_list(request.workspace).order_by("-priority", "name"))
    return render_page(request, "web/chat/flow_list.html", {**SECTION, "flows": flows})


# --- the step editor: graph <-> form -------------------------------------------------------------


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _value_read(raw: str) -> Any:
    """A condition's value as typed: a number or list when it reads as JSON, else text."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, int | float | list) and not isinstance(value, bool) else raw


def _step_form(step: dict[str, Any]) -> dict[str, Any]:
    """One step as its card's inputs (choices and branches one a line)."""
    choices = "\n".join(
        " | ".join([c["value"], c.get("label", ""), c.get("next", "")]).rstrip(" |")
        for c in step.get("choices", [])
    )
    branches = []
    for branch in step.get("branches", []):
        when = branch["when"]
        if "field" in when:
            value = "" if when.get("value") is None else " " + _value_text(when["value"])
            branches.append(f"{when['field']} {when['operator']}{value} -> {branch['next']}")
        else:
            branches.append(f"{json.dumps(when)} -> {branch['next']}")
    return {
        **{key: step.get(key, "") for key in STEP_KEYS},
        "member": step.get("member") or "",
        "choices": choices,
        "branches": "\n".join(branches),
    }


def _branch_read(line: str) -> dict[str, Any]:
    condition, _, target = line.rpartition("->")
    condition, target = condition.strip(), target.strip()
    if condition.startswith("{"):
        try:
            return {"when": json.loads(condition), "next": target}
        except ValueError:
            pass
    parts = condition.split(None, 2)
    when: dict[str, Any] = {"field": parts[0] if parts else "", "operator": ""}
    if len(parts) > 1:
        when["operator"] = parts[1]
    if len(parts) > 2:
        when["value"] = _value_read(parts[2])
    return {"when": when, "next": target}


def _choice_read(line: str) -> dict[str, str]:
    parts = [part.strip() for part in line.split("|")]
    choice = {"value": parts[0]}
    if len(parts) > 1 and parts[1]:
        choice["label"] = parts[1]
    if len(parts) > 2 and parts[2]:
        choice["next"] = parts[2]
    return choice


def _whole(raw: str) -> Any:
    """A whole number as typed (digits), else the text itself (the checks name it)."""
    raw = str(raw).strip()
    return int(raw) if re.fullmatch(r"\d{1,9}", raw) else raw


def _offer_read(kind: str, form: dict[str, str], step: dict[str, Any]) -> None:
    """A product or meeting card's own inputs (empty optional ones left out)."""
    if kind == "product":
        step["product"] = _whole(form.get("product", ""))
        for key in ("buy_label", "decline_label", "paid_text", "paid"):
            if str(form.get(key, "")).strip():
                step[key] = str(form[key]).strip()
    else:
        if str(form.get("member", "")).strip():
            step["member"] = _whole(form["member"])
        step["duration"] = _whole(form.get("duration", ""))
        step["days"] = _whole(form.get("days", ""))


def _step_read(form: dict[str, str]) -> dict[str, Any]:
    """A card's inputs as a step of the graph, with only the keys its kind has."""
    kind = form.get("kind", "")
    step: dict[str, Any] = {"id": form.get("id", "").strip(), "kind": kind}
    if kind in ("product", "meeting"):
        _offer_read(kind, form, step)
    if kind in ("message", "question", "knowledge", "handover", "end", "product", "meeting"):
        step["text"] = form.get("text", "")
    if kind == "question":
        step["input"] = form.get("input", "")
        if form.get("field"):
            step["field"] = form["field"]
        if form.get("retry_text", "").strip():
            step["retry_text"] = form["retry_text"]
        if step["input"] == "choice":
            lines = form.get("choices", "").splitlines()
            step["choices"] = [_choice_read(line) for line in lines if line.strip()]
    if kind == "condition":
        lines = form.get("branches", "").splitlines()
        step["branches"] = [_branch_read(line) for line in lines if line.strip()]
        step["otherwise"] = form.get("otherwise", "").strip()
    elif kind == "set_field":
        step["field"], step["value"] = form.get("field", ""), form.get("value", "")
    elif kind == "tag":
        step["tag"] = form.get("tag", "").strip()
    elif kind == "score":
        raw = form.get("points", "").strip()
        step["points"] = int(raw) if re.fullmatch(r"-?\d{1,6}", raw) else raw
    if kind not in ("condition", "handover", "end"):
        step["next"] = form.get("next", "").strip()
    return step


def _posted_steps(request: HttpRequest) -> list[dict[str, str]]:
    post = request.POST
    count = post.get("step_count", "0")
    count = int(count) if count.isdigit() and len(count) < 4 else 0
    cards = []
    for index in range(count):
        card = {key: post.get(f"steps-{index}-{key}", "") for key in STEP_KEYS}
        if post.get(f"steps-{index}-remove") == "on" or not (card["id"] or card["text"]):
            continue
        cards.append(card)
    # A step whose "next" is left empty leads to the step below it (the order on the page).
    for card, following in itertools.pairwise(cards):
        if card["kind"] not in ("condition", "handover", "end") and not card["next"].strip():
            card["next"] = following["id"].strip()
    return cards


def _new_step_id(cards: list[dict[str, str]], kind: str) -> str:
    """A fresh id for an added step (``question-2``): other steps can lead to it at once."""
    taken = {card["id"].strip() for card in cards}
    number = 1
    while f"{kind or 'step'}-{number}" in taken:
        number += 1
    return f"{kind or 'step'}-{number}"


def _flow_values(flow) -> dict[str, Any]:
    if flow is None:
        return {
            "name": "",
            "status": FlowStatus.DRAFT,
            "priority": 0,
            "include": "",
            "exclude": "",
            "start": "",
        } | proactive_values(None)
    return {
        "name": flow.name,
        "status": flow.status,
        "priority": flow.priority,
        "include": "\n".join(flow.page_rules.get("include", [])),
        "exclude": "\n".join(flow.page_rules.get("exclude", [])),
        "start": flow.draft.get("start", ""),
    } | proactive_values(flow)


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.splitlines() if line.strip()]


def _errors(failure: ValidationFailed) -> tuple[dict[str, list[str]], dict[int, dict]]:
    """Field errors for the settings, and per step card (by index) for the steps."""
    general: dict[str, list[str]] = {}
    by_step: dict[int, dict[str, list[str]]] = {}
    for error in failure.errors:
        match = STEP_ERROR.match(error.field)
        if match:
            key = match.group(2) or "step"
            by_step.setdefault(int(match.group(1)), {}).setdefault(key, []).append(error.message)
        else:
            key = error.field.removeprefix("graph.").split("[")[0].split(".")[-1]
            general.setdefault(key, []).append(error.message)
    return general, by_step


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def flow_edit(request: HttpRequest, flow_id: int | None = None) -> HttpResponse:
    """A new flow (``flow_id`` None) or one flow's settings and steps."""
    workspace = request.workspace
    flow = selectors.flow_get(workspace, flow_id) if flow_id else None
    values = _flow_values(flow)
    cards = [_step_form(step) for step in (flow.draft.get("steps", []) if flow else [])]
    errors: dict[str, list[str]] = {}
    step_errors: dict[int, dict] = {}
    status = 200
    if request.method == "POST":
        if not request.membership.can("manage_forms"):
            return HttpResponse("Your role does not allow this.", status=403)
        post = request.POST
        priority = post.get("priority", "0").strip()
        values = {
            "name": post.get("name", ""),
            "status": post.get("status", ""),
            "priority": int(priority) if re.fullmatch(r"-?\d{1,5}", priority) else priority,
            "include": post.get("include", ""),
            "exclude": post.get("exclude", ""),
            "start": post.get("start", "").strip(),
        }
        proactive, shown = proactive_posted(post)  # the "Proactive start" fieldset
        values |= shown
        cards = _posted_steps(request)
        if "add" in post:
            kind = post.get("add_kind", "")
            kind = kind if re.fullmatch(r"[a-z_]{1,20}", kind) else ""
            added = {"kind": kind, "id": _new_step_id(cards, kind)}
            cards.append({key: "" for key in STEP_KEYS} | added)
        else:
            data = {
                "name": values["name"],
                "status": values["status"],
                "priority": values["priority"],
                "page_rules": {
                    "include": _lines(values["include"]),
                    "exclude": _lines(values["exclude"]),
                },
                "proactive": proactive,
                "graph": {
                    "start": values["start"] or (cards[0]["id"] if cards else ""),
                    "steps": [_step_read(card) for card in cards],
                },
            }
            if not cards:
                data.pop("graph")
            try:
                if flow is None:
                    flow = services.flow_create(workspace=workspace, data=data, actor=request.actor)
                    messages.success(request, f"Created the flow “{flow.name}”.")
                else:
                    flow = services.flow_update(
                        workspace=workspace, flow_id=flow.pk, data=data, actor=request.actor
                    )
                    messages.success(request, f"Saved the flow “{flow.name}”.")
                return redirect("chat_flow_edit", workspace.slug, flow.pk)
            except ValidationFailed as failure:
                status = 422
                errors, step_errors = _errors(failure)
    page = {
        **SECTION,
        "flow": flow,
        "values": values,
        "steps": [
            {
                "index": index,
                "prefix": f"steps-{index}-",
                "form": card,
                "errors": step_errors.get(index, {}),
            }
            for index, card in enumerate(cards)
        ],
        "step_count": len(cards),
        "errors": errors,
        "kinds": [(kind, KIND_LABELS[kind]) for kind in KINDS],
        "inputs": INPUTS,
        "products": [
            (p.pk, f"{p.name} · {p.price:.2f} {p.currency}")
            for p in product_list(workspace, active=True)[:500]
        ],
        "members": [
            (m.user_id, str(m.user))
            for m in member_list(workspace, permission=LEAD_OWNER_PERMISSION)
        ],
        "durations": [(m, f"{m} minutes") for m in MEETING_DURATIONS],
        "contact_fields": CONTACT_FIELDS,
        "statuses": FlowStatus.choices,
        "versions": list(selectors.flow_versions(workspace, flow)[:10]) if flow else [],
        "may_edit": request.membership.can("manage_forms"),
    }
    return render_page(request, "web/chat/flow_edit.html", page, status=status)


@workspace_view("manage_forms")
@require_POST
def flow_publish(request: HttpRequest, flow_id: int) -> HttpResponse:
    """The saved draft becomes the next version; new conversations start on it."""
    try:
        version = services.flow_publish(
            workspace=request.workspace, flow_id=flow_id, actor=request.actor
        )
    except ValidationFailed as failure:
        messages.error(request, f"{failure.detail} {failure.errors[0].message}")
    else:
        messages.success(request, f"Published version {version.number}.")
    return redirect("chat_flow_edit", request.workspace.slug, flow_id)


# --- conversations ---------------------------------------------------------------------------


@workspace_view("read")
@require_safe
def conversation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in ConversationStatus.values:
        status = ""
    conversations = list(
        selectors.conversation_list(request.workspace, actor=request.actor, status=status)[:100]
    )
    page = {
        **SECTION,
        "conversations": conversations,
        "status": status,
        "statuses": ConversationStatus.choices,
    }
    return render_page(request, "web/chat/conversation_list.html", page)


@workspace_view("read")
@require_safe
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The transcript; a transcript deleted by the retention policy answers 404 saying so
    (links to it stay on the contact's timeline)."""
    workspace = request.workspace
    try:
        conversation = selectors.conversation_get(workspace, conversation_id, actor=request.actor)
    except NotFound as missing:
        if missing.code != "deleted_by_retention":
            raise
        policy = selectors.chat_settings_get(workspace)
        page = {**SECTION, "message": missing.detail, "policy": policy}
        return render_page(request, "web/chat/conversation_gone.html", page, status=404)
    page = {
        **SECTION,
        "conversation": conversation,
        "transcript": selectors.conversation_transcript(workspace, conversation),
        "answers": sorted(((conversation.state.get("engine") or {}).get("answers") or {}).items()),
    }
    return render_page(request, "web/chat/conversation_detail.html", page)
