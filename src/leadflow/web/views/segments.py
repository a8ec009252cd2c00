"""Segments in the app: the list with member counts, the editor (name, kind, the condition
editor with the count shown live while editing), a segment's members (linking to the
contacts), and a static list's members added (emails or ids) and removed. Reading is for
every member; creating, changing and deleting segments and lists is marketing's
(``manage_forms``: marketers, admins and owners)."""

import re

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.contacts.conditions import ConditionContext, condition_field_get
from leadflow.contacts.models import Contact
from leadflow.contacts.selectors import contacts_visible
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.nurture.models import MemberSource, SegmentKind
from leadflow.nurture.selectors import segments as selectors
from leadflow.nurture.services import segments as services
from leadflow.tracking.models import EventType
from leadflow.web.access import safe_next, workspace_view
from leadflow.web.conditions_form import editor_for, tree_from_post
from leadflow.web.forms import error_map
from leadflow.web.views.common import PAGE_SIZE, render_page

MANAGE = "manage_forms"
SECTION = {"section": "segments"}
PREFIX = "conditions"
LEGEND = "Contacts in this segment match"
MAX_PASTED = 1000


def _context(request: HttpRequest) -> ConditionContext:
    return ConditionContext(workspace=request.workspace, user_id=request.user.pk)


def _editor(tree, request, errors=None):
    context = _context(request)
    editor = editor_for(tree, context, prefix=PREFIX, legend=LEGEND, errors=errors, activities=True)
    # Tracked events (nurture's event.<type> family): "did X times within D days".
    for event_type, label in EventType.choices:
        if condition_field_get(context, f"event.{event_type}") is not None:
            editor.fields.append(
                (f"event.{event_type}", f"Tracked event: {label} (times)", "behaviour")
            )
    editor.fields.sort(key=lambda choice: choice[1].lower())
    return editor


def _back_to_list(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("segment_list", args=[request.workspace.slug]))


@workspace_view()
def segment_list(request: HttpRequest) -> HttpResponse:
    """Every segment by name, with its kind and members now."""
    rows = list(selectors.segment_list(request.workspace))
    return render_page(request, "web/segments/list.html", {**SECTION, "rows": rows})


@workspace_view(MANAGE)
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, segment_id: int | None = None) -> HttpResponse:
    """A new segment (``segment_id`` None; ``?kind=static`` for a list) or a segment's
    settings: name, description and, for a dynamic one, its conditions."""
    workspace = request.workspace
    segment = selectors.segment_get(workspace, segment_id) if segment_id else None
    kind = segment.kind if segment else request.POST.get("kind") or request.GET.get("kind")
    kind = kind if kind in SegmentKind.values else SegmentKind.DYNAMIC
    values = {
        "name": segment.name if segment else "",
        "description": segment.description if segment else "",
    }
    tree = (segment.conditions if segment else {}) or {}
    if request.method == "GET":
        return _edit_page(request, segment, kind, values, _editor(tree, request), {})
    values = {name: request.POST.get(name, "") for name in ("name", "description")}
    try:
        data = {**values, "kind": kind}
        if kind == SegmentKind.DYNAMIC:
            tree = tree_from_post(request.POST, _context(request), prefix=PREFIX)
            data["conditions"] = tree
        if segment is None:
            segment = services.segment_create(workspace=workspace, actor=request.actor, values=data)
            messages.success(request, f"Created “{segment.name}”.")
        else:
            data.pop("kind")
            segment = services.segment_update(
                workspace=workspace, actor=request.actor, segment_id=segment.pk, values=data
            )
            messages.success(request, f"Saved “{segment.name}”.")
    except ValidationFailed as failure:
        tree_errors = [e for e in failure.errors if e.field.startswith("conditions")]
        editor = _editor(tree, request, errors=tree_errors)
        return _edit_page(request, segment, kind, values, editor, error_map(failure), status=422)
    return HttpResponseRedirect(reverse("segment_members", args=[workspace.slug, segment.pk]))


def _edit_page(request, segment, kind, values, editor, errors, status=200) -> HttpResponse:
    page = {
        **SECTION,
        "segment": segment,
        "kind": kind,
        "values": values,
        "editor": editor,
        "errors": errors,
        "count": _count(request, editor_tree=None if segment is None else segment.conditions)
        if kind == SegmentKind.DYNAMIC and status == 200
        else None,
    }
    return render_page(request, "web/segments/edit.html", page, status=status)


def _count(request: HttpRequest, *, editor_tree) -> dict:
    """The live count's context: the number, capped or not, or the problem."""
    try:
        count, capped = selectors.conditions_count(request.workspace, editor_tree or {})
    except ValidationFailed as failure:
        return {"error": "; ".join(e.message for e in failure.errors[:3])}
    return {"value": count, "capped": capped}


@workspace_view(MANAGE)
@require_POST
def segment_count(request: HttpRequest) -> HttpResponse:
    """The count of the editor's tree as it stands (htmx, while editing)."""
    try:
        tree = tree_from_post(request.POST, _context(request), prefix=PREFIX)
        count = _count(request, editor_tree=tree)
    except ValidationFailed as failure:
        count = {"error": "; ".join(e.message for e in failure.errors[:3])}
    return render_page(request, "web/segments/_count.html", {"count": count})


@workspace_view()
def segment_members(request: HttpRequest, segment_id: int) -> HttpResponse:
    """A segment's members, the latest to enter first, a page at a time."""
    segment = selectors.segment_get(request.workspace, segment_id)
    try:
        page = selectors.segment_members_page(
            request.workspace, segment, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except ValidationFailed:
        page = selectors.segment_members_page(
            request.workspace, segment, cursor=None, limit=PAGE_SIZE
        )
    context = {
        **SECTION,
        "segment": segment,
        "members": page.items,
        "next_cursor": page.next_cursor,
        "total": selectors.segment_member_count(segment),
        "sources": dict(MemberSource.choices),
    }
    return render_page(request, "web/segments/members.html", context)


def contact_ids_posted(request: HttpRequest) -> list[int]:
    """Contact ids from checkboxes (``contact``) and pasted emails or ids (``contacts``)."""
    ids = {int(pk) for pk in request.POST.getlist("contact") if pk.isdigit()}
    pasted = [
        part.strip()
        for part in re.split(r"[\s,;]+", request.POST.get("contacts", ""))
        if part.strip()
    ][:MAX_PASTED]
    ids |= {int(part) for part in pasted if part.isdigit()}
    emails = [part.lower() for part in pasted if "@" in part]
    if emails:
        ids |= set(
            Contact.objects.filter(workspace=request.workspace, email__in=emails).values_list(
                "pk", flat=True
            )
        )
    if not ids and not pasted:
        raise ValidationFailed([FieldError("contacts", "Give at least one email or contact id.")])
    return sorted(ids)


@workspace_view(MANAGE)
@require_POST
def segment_members_add(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(request.workspace, segment_id)
    added = services.segment_members_add(
        workspace=request.workspace,
        segment=segment,
        contact_ids=contact_ids_posted(request),
        actor=request.actor,
        source=MemberSource.MANUAL,
    )
    messages.success(request, f"Added {len(added)} contact{'s' if len(added) != 1 else ''}.")
    return HttpResponseRedirect(
        request.POST.get("next")
        if request.POST.get("next", "").startswith(f"/w/{request.workspace.slug}/")
        else reverse("segment_members", args=[request.workspace.slug, segment.pk])
    )


@workspace_view(MANAGE)
@require_POST
def segment_members_remove(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(request.workspace, segment_id)
    removed = services.segment_members_remove(
        workspace=request.workspace,
        segment=segment,
        contact_ids=contact_ids_posted(request),
        actor=request.actor,
    )
    messages.success(request, f"Removed {len(removed)} contact{'s' if len(removed) != 1 else ''}.")
    return HttpResponseRedirect(
        reverse("segment_members", args=[request.workspace.slug, segment.pk])
    )


@workspace_view(MANAGE)
@require_POST
def segment_delete(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(request.workspace, segment_id)
    services.segment_delete(workspace=request.workspace, actor=request.actor, segment_id=segment.pk)
    messages.success(request, f"Deleted “{segment.name}”.")
    return _back_to_list(request)


@workspace_view(MANAGE)
@require_POST
def segment_bulk_add(request: HttpRequest) -> HttpResponse:
    """The contacts list's "Add to list": the checked contacts (``ids``, only those the
    member may see) into the chosen static list (``segment``); back to the list."""
    back = safe_next(request, reverse("contact_list", args=[request.workspace.slug]))
    raw = request.POST.get("segment", "")
    segment = selectors.segment_get(request.workspace, int(raw)) if raw.isdecimal() else None
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdecimal()]
    if segment is None or not ids:
        messages.error(request, "Select contacts and a list first.")
        return HttpResponseRedirect(back)
    visible = contacts_visible(request.workspace, request.actor).filter(pk__in=ids)
    added = services.segment_members_add(
        workspace=request.workspace,
        segment=segment,
        contact_ids=visible.values_list("pk", flat=True),
        actor=request.actor,
        source=MemberSource.MANUAL,
    )
    noun = "contact" if len(added) == 1 else "contacts"
    messages.success(request, f"Added {len(added)} {noun} to “{segment.name}”.")
    return HttpResponseRedirect(back)
