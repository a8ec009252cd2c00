"""Possible duplicates for review: each pair side by side, merge it or dismiss it.

Nothing here merges by itself: "Merge" opens the merge screen, where a person chooses
the values that stay.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from leadflow.contacts import selectors, services
from leadflow.core.errors import ValidationFailed
from leadflow.web.access import safe_next, workspace_view
from leadflow.web.views.common import query_with, render_page

DUPLICATES_PAGE = 25


@workspace_view("read")
@require_safe
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """Open pairs, newest first, limited to contacts the member may see."""
    queryset = selectors.duplicate_list_visible(request.workspace, request.actor)
    try:
        page = selectors.cursor_paginate(
            queryset, sort="-created_at", cursor=request.GET.get("cursor"), limit=DUPLICATES_PAGE
        )
    except ValidationFailed:
        page = selectors.cursor_paginate(
            queryset, sort="-created_at", cursor=None, limit=DUPLICATES_PAGE
        )
    context = {
        "page": page,
        "next_query": query_with({}, cursor=page.next_cursor) if page.next_cursor else "",
        "is_later_page": bool(request.GET.get("cursor")),
    }
    return render_page(request, "web/duplicates/list.html", context)


@workspace_view("write")
@require_POST
def duplicate_dismiss(request: HttpRequest, candidate_id: int) -> HttpResponse:
    """Mark a pair as "not a duplicate"; it leaves the review list for good."""
    visible = selectors.duplicate_list_visible(request.workspace, request.actor)
    if not visible.filter(pk=candidate_id).exists():
        raise Http404("No such open duplicate pair.")
    services.duplicate_dismiss(
        workspace=request.workspace, candidate_id=candidate_id, actor=request.actor
    )
    messages.success(request, "Marked as not a duplicate.")
    return redirect(
        safe_next(request, default=reverse("duplicate_list", args=[request.workspace.slug]))
    )
