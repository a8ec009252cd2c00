"""The chat's knowledge base in the app: the entries (search, add, edit, delete), "try a
question" (the bot's answer and its score, not counted as unanswered, with the thresholds
in force: the workspace's chat policy over the model's calibrated ones) and the questions the
bot did not answer, each with a one-click "add to the knowledge base" (the entry form
prefilled). Every member may read; changing needs ``manage_forms`` (marketers and up).
Ids are looked up in the member's workspace (another's answer 404); a refused input is
shown beside its field with 422."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.chat import knowledge
from leadflow.chat.knowledge_model import MODEL_ID
from leadflow.chat.models import EntryKind
from leadflow.core.errors import ValidationFailed
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import render_page

SECTION = {"section": "knowledge"}
MANAGE = "manage_forms"
FIELDS = ("kind", "title", "body", "phrasings", "link")
SHOWN = 500


def _posted(post) -> dict:
    return {
        "kind": post.get("kind", EntryKind.QUESTION),
        "title": post.get("title", ""),
        "body": post.get("body", ""),
        "phrasings": post.get("phrasings", "").splitlines(),
        "link": post.get("link", ""),
    }


def _form(request: HttpRequest, entry, values: dict, errors: dict, status: int = 200, **more):
    context = {
        **SECTION,
        "entry": entry,
        "values": {**values, "phrasings": "\n".join(values.get("phrasings") or [])},
        "errors": errors,
        "other_errors": non_field_errors(errors, FIELDS),
        "kinds": EntryKind.choices,
        "may_change": request.membership.can(MANAGE),
        **more,
    }
    return render_page(request, "web/knowledge/form.html", context, status=status)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def knowledge_list(request: HttpRequest) -> HttpResponse:
    """The entries (``q`` searches titles and texts) and the "try a question" box."""
    search = request.GET.get("q", "")[:200]
    answer = None
    question = ""
    if request.method == "POST":  # trying a question changes nothing
        question = request.POST.get("question", "").strip()[:500]
        if question:
            answer = knowledge.knowledge_answer(request.workspace, question, record=False)
    entries = list(knowledge.entry_list(request.workspace, search=search)[:SHOWN])
    if answer is not None and answer.thresholds is not None:
        thresholds, overridden = answer.thresholds, answer.overridden
    else:  # before a question: the model's bands (the web process never loads the model)
        thresholds, overridden = knowledge.thresholds_for(request.workspace, MODEL_ID)
    context = {
        **SECTION,
        "entries": entries,
        "search": search,
        "question": question,
        "answer": answer,
        "thresholds": thresholds,
        "overridden": overridden,
        "unanswered_count": knowledge.unanswered_list(request.workspace).count(),
        "may_change": request.membership.can(MANAGE),
    }
    return render_page(request, "web/knowledge/list.html", context)


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def knowledge_new(request: HttpRequest) -> HttpResponse:
    """A new entry; ``?from=<unanswered id>`` prefills it with that question, which leaves
    the unanswered list once the entry is saved."""
    source = None
    raw = request.POST.get("from") or request.GET.get("from") or ""
    if raw.isdecimal():
        source = knowledge.unanswered_get(request.workspace, int(raw))
    values: dict = {"kind": EntryKind.QUESTION, "title": source.question if source else ""}
    if request.method == "POST":
        values = _posted(request.POST)
        try:
            entry = knowledge.entry_create(
                workspace=request.workspace,
                actor=request.actor,
                data=values,
                unanswered_id=source.pk if source else None,
            )
        except ValidationFailed as failure:
            return _form(request, None, values, error_map(failure), 422, source=source)
        messages.success(request, f"Added “{entry.title}” to the knowledge base.")
        return redirect("knowledge_list", request.workspace.slug)
    return _form(request, None, values, {}, source=source)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def knowledge_detail(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = knowledge.entry_get(request.workspace, entry_id)
    values = {name: getattr(entry, name) for name in FIELDS}
    if request.method == "POST":
        if not request.membership.can(MANAGE):
            raise PermissionDenied("Your role may not change the knowledge base.")
        values = _posted(request.POST)
        try:
            knowledge.entry_update(
                workspace=request.workspace, entry_id=entry.pk, actor=request.actor, data=values
            )
        except ValidationFailed as failure:
            return _form(request, entry, values, error_map(failure), 422)
        messages.success(request, "Saved the entry.")
        return redirect("knowledge_detail", request.workspace.slug, entry.pk)
    return _form(request, entry, values, {})


@workspace_view(MANAGE)
@require_POST
def knowledge_delete(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = knowledge.entry_get(request.workspace, entry_id)
    knowledge.entry_delete(workspace=request.workspace, entry_id=entry.pk, actor=request.actor)
    messages.success(request, f"Deleted “{entry.title}”.")
    return redirect("knowledge_list", request.workspace.slug)


@workspace_view("read")
@require_safe
def knowledge_unanswered(request: HttpRequest) -> HttpResponse:
    context = {
        **SECTION,
        "questions": list(knowledge.unanswered_list(request.workspace)[:SHOWN]),
        "may_change": request.membership.can(MANAGE),
    }
    return render_page(request, "web/knowledge/unanswered.html", context)


@workspace_view(MANAGE)
@require_POST
def knowledge_unanswered_dismiss(request: HttpRequest, unanswered_id: int) -> HttpResponse:
    knowledge.unanswered_dismiss(
        workspace=request.workspace, unanswered_id=unanswered_id, actor=request.actor
    )
    messages.success(request, "Dismissed the question.")
    return redirect("knowledge_unanswered", request.workspace.slug)
