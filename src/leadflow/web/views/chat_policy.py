"""Settings → Chat policy: how long chat transcripts are kept (``leadflow maintain``
deletes them after), how many open chats a person holds before routing passes them over,
and the knowledge base's answer thresholds when the workspace overrides the model's
calibrated ones, shown beside each field. Admins only (``manage_settings``), to read as to
change; a refused input is shown beside its field with 422 and nothing is saved."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from leadflow.chat import knowledge, selectors
from leadflow.chat.knowledge_model import MODEL_ID
from leadflow.chat.services.settings_policy import (
    POLICY_FIELDS,
    chat_policy,
    chat_policy_update,
)
from leadflow.core.errors import ValidationFailed
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import render_page

RANKING_LABELS = {MODEL_ID: "Sentence model (MiniLM)", knowledge.LEXICAL: "Words only (BM25)"}


def _shown(values: dict) -> dict:
    """The values as the form shows them: an empty threshold box is the model's value."""
    return {name: "" if value is None else value for name, value in values.items()}


def calibrated_rows() -> list[dict]:
    """Each ranking's calibrated thresholds, for the table beside the override fields."""
    return [
        {
            "ranking": ranking,
            "label": RANKING_LABELS.get(ranking, ranking),
            "answer": thresholds.answer,
            "margin": thresholds.margin,
            "suggest": thresholds.suggest,
        }
        for ranking, thresholds in knowledge.THRESHOLDS.items()
    ]


@workspace_view("manage_settings")
@require_http_methods(["GET", "POST"])
def chat_policy_page(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    values = _shown(chat_policy(selectors.chat_settings_get(workspace)))
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in POLICY_FIELDS}
        try:
            chat_policy_update(workspace, dict(values), request.actor)
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, "Saved the chat policy.")
            return redirect("chat_policy", workspace.slug)
    page = {
        "settings_section": "chat_policy",
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, POLICY_FIELDS),
        "calibrated": calibrated_rows(),
    }
    return render_page(request, "web/settings/chat_policy.html", page, status=status)
