"""Contacts: the list (search, filters, saved views, bulk actions), the contact page
(profile, status, tags, timeline, notes), creation, merge and deletion.

Every view runs behind ``workspace_view``: the contact ids in URLs are looked up inside
the current workspace (and, for sales members, among their own leads), so another
workspace's id answers 404. Writes go through ``contacts.services`` only.

Longer than the house's ~600 lines: the contact list and the contact page share the filter
translation, the saved views and the bulk actions above them; splitting them would pass that
state between modules.
"""

import contextlib
import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from leadflow.contacts import selectors, services
from leadflow.contacts.conditions import (
    ConditionContext,
    Node,
    conditions_from_query,
    conditions_validate,
    tree_from_json,
)
from leadflow.contacts.exports import FORMATS, export_response
from leadflow.contacts.models import (
    FIT_GRADES,
    ConsentStatus,
    Contact,
    FunnelSection,
    LifecycleStage,
    Temperature,
)
from leadflow.core import selectors as core_selectors
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.nurture.selectors import segments as segment_selectors
from leadflow.nurture.selectors import sequences as sequence_selectors
from leadflow.sales import services as sales_services
from leadflow.web.access import safe_next, workspace_view
from leadflow.web.conditions_form import (
    BLANK_ROWS,
    Editor,
    editor_for,
    editor_sent,
    error_texts,
    tree_from_query,
    tree_param,
)
from leadflow.web.forms import (
    DEFAULT_SORT,
    PROFILE_FIELDS,
    contact_create_data,
    contact_profile_changes,
    contact_status_changes,
    contact_values,
    custom_inputs,
    custom_values_from_post,
    error_map,
    list_params,
    non_field_errors,
    posted_values,
    selector_filters,
    tag_names_from_text,
)
from leadflow.web.timeline import (
    Names,
    interleave,
    referenced_company_ids,
    timeline_entries,
    touches,
    visit_entries,
)
from leadflow.web.views import routing
from leadflow.web.views.common import PAGE_SIZE, htmx_target, query_with, render_page
from leadflow.web.views.consent import contact_consent_context
from leadflow.web.views.followups import followup_panel_context
from leadflow.web.views.scoring import score_panel
from leadflow.web.views.sequences import contact_sequences_context
from leadflow.web.views.suppression import contact_suppression_context

SORT_CHOICES = (
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("-updated_at", "Recently updated"),
    ("updated_at", "Least recently updated"),
    ("last_name", "Last name A–Z"),
    ("-last_name", "Last name Z–A"),
    ("-engagement_score", "Hottest first (engagement score)"),
    ("fit_grade", "Best fit first (grade A–F)"),
    ("-conversion_probability", "Likeliest to buy first"),
)
# A salesperson's own list puts the hottest leads on top (issue 13: "a hot lead appears at
# the top of its owner's list"); everyone else's starts with the newest.
OWN_LEADS_SORT = "-engagement_score"
COMPANY_FILTER_OPTIONS = 200
TIMELINE_PAGE = 50
MERGE_CANDIDATES = 20


def _members(request: HttpRequest) -> list:
    return list(core_selectors.member_users(request.workspace))


def _choice_context() -> dict:
    return {
        "stage_choices": LifecycleStage.choices,
        "temperature_choices": Temperature.choices,
        "grade_choices": [(grade, f"{grade} or better") for grade in FIT_GRADES],
        "funnel_choices": FunnelSection.choices,
        "consent_choices": ConsentStatus.choices,
    }


# --- list ------------------------------------------------------------------------------------


def _company_options(request: HttpRequest, selected: str) -> list:
    options = list(
        selectors.company_list(request.workspace).order_by("name", "id")[:COMPANY_FILTER_OPTIONS]
    )
    if selected.isdecimal() and all(str(company.pk) != selected for company in options):
        with contextlib.suppress(NotFound):
            options.insert(0, selectors.company_get(request.workspace, int(selected)))
    return options


@dataclass
class ListQuery:
    """What a contacts-list URL asks for: the simple filters and sort (``params``), the
    advanced filter's tree (JSON form, {} for none) and the errors of a tree whose JSON
    does not read. Every link of the view (next page, export, saved view) carries ``query``:
    the params and ``conditions=<the tree's JSON>``."""

    params: dict[str, str]
    tree: dict
    errors: list[FieldError]
    context: ConditionContext

    def query(self, **changes: str | None) -> str:
        return query_with({**self.params, "conditions": tree_param(self.tree)}, **changes)

    def conditions(self) -> Node | None:
        """The tree for the selectors (``ValidationFailed`` naming its paths)."""
        return tree_from_json(self.tree) if self.tree else None

    def error_texts(self, errors: list[FieldError]) -> list[str]:
        """Errors as the page shows them, a condition's naming its row."""
        return error_texts(errors, self.tree, self.context, title="Advanced filter")


def _list_query(request: HttpRequest, data: QueryDict) -> ListQuery:
    context = ConditionContext(request.workspace, request.actor.user_id)
    params = list_params(data)
    try:
        return ListQuery(params, tree_from_query(data, context), [], context)
    except ValidationFailed as failure:
        return ListQuery(params, {}, failure.errors, context)


def _condition_editor(listed: ListQuery, data: QueryDict, errors: list[FieldError]) -> Editor:
    editor = editor_for(
        listed.tree,
        listed.context,
        legend="Conditions",
        errors=[error for error in errors if error.field.startswith("conditions")],
        activities=True,
    )
    if listed.errors:  # JSON that does not read: shown again as typed, to be corrected
        editor.json_mode = True
        editor.json_text = data.get("conditions-json") or data.get("conditions", "")
    return editor


@workspace_view("read")
@require_safe
def contact_list(request: HttpRequest) -> HttpResponse:
    """The contacts the member may see, filtered and sorted, one keyset page at a time.

    The total is counted up to 10,000 only ("10,000+"), so the page costs the same on a
    million contacts. Bad filter values and conditions show as errors naming them (a
    condition by its row), never as a server error. The advanced filter's form sends its
    rows; the page answers with the view's one URL (``ListQuery.query``): a redirect
    without JavaScript, the pushed URL with htmx.
    """
    workspace, actor = request.workspace, request.actor
    listed = _list_query(request, request.GET)
    params = listed.params
    sent = editor_sent(request.GET) and not listed.errors
    if sent and not htmx_target(request):
        return _to_list(request, listed.query())
    default = OWN_LEADS_SORT if actor.sees_only_own_leads else DEFAULT_SORT
    sort = params.get("sort", default)
    if sort not in selectors.CONTACT_SORTS:
        sort = default
    errors = listed.errors
    page, total, capped = None, 0, False
    try:
        if not errors:
            queryset = selectors.contact_list(
                workspace, actor, selector_filters(params), listed.conditions()
            )
            page = selectors.cursor_paginate(
                queryset, sort=sort, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
            )
            total, capped = selectors.count_capped(queryset)
    except ValidationFailed as failure:
        errors = failure.errors
    editor = _condition_editor(listed, request.GET, errors)
    query = listed.query()
    context = {
        "params": params,
        "sort": sort,
        "page": page,
        "total": total,
        "capped": capped,
        "filter_errors": listed.error_texts(errors),
        "filtered": any(key != "sort" for key in params) or bool(listed.tree),
        "condition_editor": editor,
        "condition_count": len(editor.rows) - BLANK_ROWS if not editor.json_mode else None,
        "query": query,
        "next_query": listed.query(cursor=page.next_cursor) if page and page.next_cursor else "",
        "is_later_page": bool(request.GET.get("cursor")),
        "members": _members(request),
        "tag_options": selectors.tag_names(workspace),
        # Lazy: read only when the bulk bar offers "Add to list" (marketing's roles).
        "static_lists": segment_selectors.static_lists(workspace),
        "active_sequences": sequence_selectors.active_sequences(workspace),
        "company_options": _company_options(request, params.get("company", "")),
        "saved_views": list(selectors.saved_views(workspace, actor)),
        **(routing.reassign_choices(request) if request.membership.can("write") else {}),
        "sort_choices": SORT_CHOICES,
        **_choice_context(),
    }
    response = render_page(
        request,
        "web/contacts/list.html",
        context,
        partials={"contact-results": "results", "load-more": "more_rows"},
    )
    if sent:  # the htmx form: the address bar shows the view's one URL, not the rows
        response["HX-Push-Url"] = _list_url(request, query)
    return response


@workspace_view("export")
@require_safe
def contact_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every contact of the current filtered view (not just the page shown), in the list's
    sort order, as CSV or Excel: its filters and its advanced filter's tree. A sales member
    who sees only own leads exports only those; bad filters and conditions are reported
    back on the list."""
    if fmt not in FORMATS:
        raise NotFound("No such export format.")
    listed = _list_query(request, request.GET)
    sort = listed.params.get("sort", DEFAULT_SORT)
    if sort not in selectors.CONTACT_SORTS:
        sort = DEFAULT_SORT
    try:
        if listed.errors:
            raise ValidationFailed(listed.errors)
        rows = selectors.contact_export_rows(
            request.workspace,
            request.actor,
            selector_filters(listed.params),
            sort=sort,
            conditions=listed.conditions(),
        )
    except ValidationFailed as failure:
        messages.error(request, " ".join(listed.error_texts(failure.errors)))
        return _to_list(request, listed.query())
    return export_response(rows, fmt=fmt, filename=f"{request.workspace.slug}-contacts")


@workspace_view("read")
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    """Keep the current view under a name for this member (same name: replaced): its query
    string (filters, sort, the advanced filter's ``conditions``), which its link opens, and
    the tree of all its conditions (``selectors.saved_view_conditions``)."""
    listed = _list_query(request, QueryDict(request.POST.get("query", "")))
    name = request.POST.get("name", "")
    try:
        if listed.errors:
            raise ValidationFailed(listed.errors)
        tree = listed.conditions()
        if tree is not None:  # checked alone first, so its errors name the editor's rows
            conditions_validate(tree, listed.context)
        services.saved_view_save(
            workspace=request.workspace,
            actor=request.actor,
            name=name,
            query=listed.query(),
            conditions=conditions_from_query(listed.query(), request.workspace),
        )
    except ValidationFailed as failure:
        if any(error.field == "name" for error in failure.errors):
            messages.error(request, "Give the view a name to save it.")
        else:
            texts = " ".join(listed.error_texts(failure.errors))
            messages.error(request, f"The view was not saved. {texts}")
    else:
        messages.success(request, f"Saved the view “{name.strip()}”.")
    return _to_list(request, listed.query())


@workspace_view("read")
@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    """Delete one of the member's own saved views (another member's answers 404)."""
    services.saved_view_delete(workspace=request.workspace, actor=request.actor, view_id=view_id)
    messages.success(request, "Deleted the saved view.")
    return redirect(safe_next(request, _list_url(request)))


def _list_url(request: HttpRequest, query: str = "") -> str:
    url = reverse("contact_list", args=[request.workspace.slug])
    return f"{url}?{query}" if query else url


def _to_list(request: HttpRequest, query: str = "") -> HttpResponse:
    return redirect(_list_url(request, query))


BULK_LABELS = {
    "tag": "Tagged",
    "untag": "Untagged",
    "assign_owner": "Assigned",
    "set_stage": "Moved",
    "delete": "Deleted",
}


@workspace_view("write")
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the checked contacts (only those the member may see are touched).

    Deleting asks for confirmation first: without ``confirm=yes`` the answer is a page
    that repeats the request with it.
    """
    action = request.POST.get("action", "")
    back = safe_next(request, _list_url(request))
    if action == "delete" and not request.membership.can("delete"):
        raise HttpForbidden("Your role may not delete contacts.")
    ids = []
    for raw in request.POST.getlist("ids"):
        if raw.isdecimal():
            ids.append(int(raw))
    if not ids:
        messages.error(request, "Select at least one contact first.")
        return redirect(back)
    values = {
        "tag": request.POST.get("tag", ""),
        "untag": request.POST.get("tag", ""),
        "assign_owner": request.POST.get("owner", ""),
        "set_stage": request.POST.get("stage", ""),
        "delete": None,
    }
    if action not in values:
        messages.error(request, "Choose an action.")
        return redirect(back)
    if action == "delete" and request.POST.get("confirm") != "yes":
        return render_page(
            request,
            "web/contacts/bulk_delete.html",
            {"ids": ids, "next": back},
        )
    try:
        touched = services.contacts_bulk_action(
            workspace=request.workspace,
            contact_ids=ids,
            action=action,
            value=values[action],
            actor=request.actor,
        )
    except ValidationFailed as failure:
        messages.error(request, " ".join(error.message for error in failure.errors))
    else:
        noun = "contact" if touched == 1 else "contacts"
        messages.success(request, f"{BULK_LABELS[action]} {touched} {noun}.")
    return redirect(back)


REASSIGN_CAP = 10_000


@workspace_view("write")
@require_POST
def contacts_reassign(request: HttpRequest) -> HttpResponse:
    """Reassign the checked contacts (``ids``), or with ``scope=filter`` every contact the
    list's current filter matches (its query in ``query``, at most ``REASSIGN_CAP``), to a
    person (set-based) or in turn in a team, through ``sales.services.leads_reassign``:
    recorded on each timeline with the member as actor. Only contacts the member sees."""
    back = safe_next(request, _list_url(request))
    workspace, actor = request.workspace, request.actor
    target = routing.reassign_target(request.POST.get("to", ""))
    if request.POST.get("scope") == "filter":
        listed = _list_query(request, QueryDict(request.POST.get("query", "")))
        if listed.errors:
            raise ValidationFailed(listed.errors)
        queryset = selectors.contact_list(
            workspace, actor, selector_filters(listed.params), listed.conditions()
        )
        ids = list(queryset.order_by().values_list("pk", flat=True)[: REASSIGN_CAP + 1])
        if len(ids) > REASSIGN_CAP:
            messages.error(
                request, f"More than {REASSIGN_CAP:,} contacts match: narrow the filter first."
            )
            return redirect(back)
    else:
        ids = [int(raw) for raw in request.POST.getlist("ids") if raw.isdecimal() and len(raw) < 19]
        if not ids:
            messages.error(request, "Select at least one contact first.")
            return redirect(back)
    made = sales_services.leads_reassign(
        workspace=workspace, contact_ids=ids, actor=actor, **target
    )
    noun = "contact" if len(made) == 1 else "contacts"
    messages.success(request, f"Reassigned {len(made)} {noun}.")
    return redirect(back)


# --- create ----------------------------------------------------------------------------------


@workspace_view("write")
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    """A form for a new contact; an existing email updates that contact instead (upsert)."""
    definitions = list(selectors.custom_field_list(request.workspace))
    values: dict = {"lifecycle_stage": LifecycleStage.LEAD, "temperature": Temperature.COLD}
    custom_values: dict = {}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = request.POST.dict()
        custom_values = posted_values(request.POST, definitions)
        try:
            data = contact_create_data(request.POST, definitions)
            result = services.contact_upsert(
                workspace=request.workspace, data=data, actor=request.actor
            )
        except ValidationFailed as failure:
            errors = error_map(failure)
            status = 422
        else:
            contact = result.contact
            if result.created:
                messages.success(request, f"Created {contact}.")
            else:
                messages.info(request, f"{contact} existed already; their details were updated.")
            return redirect("contact_detail", request.workspace.slug, contact.pk)
    shown = [f.name for f in PROFILE_FIELDS] + [
        "owner_id",
        "lifecycle_stage",
        "consent_status",
        "tags",
    ]
    inputs = custom_inputs(definitions, custom_values, errors)
    context = {
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, shown + [i.name for i in inputs]),
        "profile_fields": PROFILE_FIELDS,
        "custom_inputs": inputs,
        "members": _members(request),
        **_choice_context(),
    }
    return render_page(request, "web/contacts/new.html", context, status=status)


# --- contact page ----------------------------------------------------------------------------


def _until(request: HttpRequest) -> dt.datetime | None:
    """Where the previous timeline page stopped (its oldest activity), for older pages."""
    try:
        moment = dt.datetime.fromisoformat(request.GET.get("until", ""))
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


def _timeline(request: HttpRequest, contact: Contact, members: list, definitions: list, before):
    history = selectors.contact_history(
        request.workspace,
        request.actor,
        contact.pk,
        limit=TIMELINE_PAGE,
        before_id=before,
        until=_until(request) if before else None,
    )
    activities = history.activities
    company_ids = referenced_company_ids(activities)
    companies = (
        dict(
            selectors.company_list(request.workspace)
            .filter(pk__in=company_ids)
            .values_list("pk", "name")
        )
        if company_ids
        else {}
    )
    names = Names(
        users={member.pk: member.display_name for member in members},
        companies=companies,
        custom_fields=definitions,
    )
    entries = interleave(timeline_entries(activities, names), visit_entries(history.items))
    return entries, history.older


def _contact_context(
    request: HttpRequest,
    contact: Contact,
    *,
    editing: bool = False,
    profile_values: dict | None = None,
    custom_values: dict | None = None,
    errors: dict | None = None,
    status_errors: dict | None = None,
    note_errors: dict | None = None,
    note_body: str = "",
    with_timeline: bool = True,
    log_open: str = "",
    log_errors: dict | None = None,
    log_values: dict | None = None,
    consent_errors: dict | None = None,
    consent_values: dict | None = None,
) -> dict:
    members = _members(request)
    definitions = list(selectors.custom_field_list(request.workspace))
    errors = errors or {}
    before = request.GET.get("before")
    before_id = int(before) if before and before.isdecimal() else None
    entries, older = (
        _timeline(request, contact, members, definitions, before_id)
        if with_timeline
        else ([], None)
    )
    inputs = custom_inputs(
        definitions,
        custom_values if custom_values is not None else contact.custom_fields,
        errors,
    )
    shown = [f.name for f in PROFILE_FIELDS] + [i.name for i in inputs]
    return {
        "contact": contact,
        "editing": editing,
        "values": profile_values or contact_values(contact),
        "status_values": contact_values(contact),
        "errors": errors,
        "other_errors": non_field_errors(errors, shown),
        "status_errors": status_errors or {},
        "note_errors": note_errors or {},
        "note_body": note_body,
        "profile_fields": PROFILE_FIELDS,
        "custom_inputs": inputs,
        "custom_display": custom_inputs(definitions, contact.custom_fields),
        "members": members,
        "entries": entries,
        "touches": touches(contact),
        "older_before": older.pk if older else None,
        "older_until": older.occurred_at.isoformat() if older else "",
        "timeline_before": before_id,
        "score": score_panel(request, contact),
        "assignments": routing.assignment_rows(request.workspace, contact.pk),
        **(routing.reassign_choices(request) if request.membership.can("write") else {}),
        "log_open": log_open,
        "log_errors": log_errors or {},
        "log_values": log_values or {},
        **followup_panel_context(request, contact),
        **contact_suppression_context(request, contact),
        **contact_consent_context(request, contact, errors=consent_errors, values=consent_values),
        **contact_sequences_context(request, contact),
        **_choice_context(),
    }


def contact_page_render(
    request: HttpRequest,
    contact: Contact,
    *,
    partial: str,
    status: int = 200,
    trigger: str | None = "timeline-changed",
    **context_options,
) -> HttpResponse:
    """One section of the contact page (htmx) or, without htmx, the whole page: for views
    elsewhere that change what a section shows (a logged call, a meeting)."""
    context = _contact_context(request, contact, **context_options)
    return render_page(
        request,
        "web/contacts/detail.html",
        context,
        partials={partial: partial},
        status=status,
        trigger=trigger if status == 200 else None,
    )


CONTACT_PARTIALS = {
    "profile": "profile",
    "status": "status",
    "tags": "tags",
    "consent": "consent",
    "activity": "activity",
    "timeline": "timeline",
}


@workspace_view("read")
@require_safe
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact page: profile, custom fields, status, tags and timeline.

    htmx requests targeting one section (profile, status, tags, timeline) get only it.
    """
    contact = selectors.contact_get(request.workspace, request.actor, contact_id)
    return render_page(
        request,
        "web/contacts/detail.html",
        _contact_context(request, contact),
        partials=CONTACT_PARTIALS,
    )


@workspace_view("write")
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Edit the profile and custom fields; saved through ``contact_update``, which writes
    a "Fields changed" activity naming each change. Errors show beside their fields."""
    workspace, actor = request.workspace, request.actor
    contact = selectors.contact_get(workspace, actor, contact_id)
    if request.method == "GET":
        context = _contact_context(request, contact, editing=True, with_timeline=False)
        return _edit_form(request, context)
    definitions = list(selectors.custom_field_list(workspace))
    data = contact_profile_changes(request.POST, contact)
    custom = custom_values_from_post(request.POST, definitions, contact.custom_fields)
    if custom:
        data["custom_fields"] = custom
    try:
        services.contact_update(workspace=workspace, contact_id=contact.pk, data=data, actor=actor)
    except ValidationFailed as failure:
        context = _contact_context(
            request,
            contact,
            editing=True,
            profile_values=request.POST.dict(),
            custom_values=posted_values(request.POST, definitions),
            errors=error_map(failure, rename={"company_id": "company"}),
            with_timeline=False,
        )
        return _edit_form(request, context, status=422)
    if request.htmx:
        contact = selectors.contact_get(workspace, actor, contact.pk)
        context = {**_contact_context(request, contact, with_timeline=False), "oob_heading": True}
        return render_page(
            request,
            "web/contacts/detail.html",
            context,
            partials={"profile": "profile"},
            trigger="timeline-changed",
        )
    messages.success(request, "Saved.")
    return redirect("contact_detail", workspace.slug, contact.pk)


def _edit_form(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    """The profile form: in place of the profile (htmx) or as its own page."""
    template = "web/contacts/detail.html#profile_form" if request.htmx else "web/contacts/edit.html"
    return render(request, template, context, status=status)


def _section_saved(request: HttpRequest, contact_id: int, partial: str) -> HttpResponse:
    """After a change to one section: that section again (htmx) or the whole page."""
    if not request.htmx:
        messages.success(request, "Saved.")
        return redirect("contact_detail", request.workspace.slug, contact_id)
    contact = selectors.contact_get(request.workspace, request.actor, contact_id)
    return render_page(
        request,
        "web/contacts/detail.html",
        _contact_context(request, contact, with_timeline=partial == "activity"),
        partials={partial: partial},
        trigger="timeline-changed",
    )


@workspace_view("write")
@require_POST
def contact_status(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Change owner, lifecycle stage or consent (each change on the timeline); temperature
    comes from the engagement score."""
    contact = selectors.contact_get(request.workspace, request.actor, contact_id)
    try:
        services.contact_update(
            workspace=request.workspace,
            contact_id=contact.pk,
            data=contact_status_changes(request.POST),
            actor=request.actor,
        )
    except ValidationFailed as failure:
        context = _contact_context(
            request, contact, status_errors=error_map(failure), with_timeline=False
        )
        return render_page(
            request, "web/contacts/detail.html", context, partials={"status": "status"}, status=422
        )
    return _section_saved(request, contact.pk, "status")


@workspace_view("write")
@require_POST
def contact_tags(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Add tags (``add``, comma-separated) or remove one (``remove``)."""
    contact = selectors.contact_get(request.workspace, request.actor, contact_id)
    names = [tag.name for tag in contact.tags.all()]
    if "remove" in request.POST:
        names = [name for name in names if name != request.POST["remove"]]
    names += [n for n in tag_names_from_text(request.POST.get("add", "")) if n not in names]
    services.contact_update(
        workspace=request.workspace,
        contact_id=contact.pk,
        data={"tags": names},
        actor=request.actor,
    )
    return _section_saved(request, contact.pk, "tags")


@workspace_view("write")
@require_POST
def contact_note(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Add a note to the contact's timeline."""
    contact = selectors.contact_get(request.workspace, request.actor, contact_id)
    body = request.POST.get("body", "")
    try:
        services.note_add(
            workspace=request.workspace,
            contact_id=contact.pk,
            body=body,
            actor=request.actor,
            base_url=request.build_absolute_uri("/"),
        )
    except ValidationFailed as failure:
        context = _contact_context(request, contact, note_errors=error_map(failure), note_body=body)
        return render_page(
            request,
            "web/contacts/detail.html",
            context,
            partials={"activity": "activity"},
            status=422,
        )
    if not request.htmx:
        messages.success(request, "Note added.")
        return redirect("contact_detail", request.workspace.slug, contact.pk)
    return _section_saved(request, contact.pk, "activity")


@workspace_view("delete")
@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Ask, then delete the contact and its timeline (the audit log keeps who did it)."""
    contact = selectors.contact_get(request.workspace, request.actor, contact_id)
    if request.method == "POST":
        services.contact_delete(
            workspace=request.workspace, contact_id=contact.pk, actor=request.actor
        )
        messages.success(request, f"Deleted {contact}.")
        return _to_list(request)
    return render_page(request, "web/contacts/delete.html", {"contact": contact})


# --- merge -----------------------------------------------------------------------------------


def _merge_rows(primary: Contact, secondary: Contact, names: Names) -> list[dict]:
    """One row per field that differs, in readable labels, with the side the merge keeps
    by default preselected (``services.contact_merge_defaults``, as the API merge)."""
    rows = []
    for name, keep in services.contact_merge_defaults(primary, secondary).items():
        if name.startswith("custom_fields."):
            key = name.removeprefix("custom_fields.")
            mine, theirs = primary.custom_fields.get(key), secondary.custom_fields.get(key)
        else:
            mine, theirs = getattr(primary, name), getattr(secondary, name)
        if mine == theirs:
            continue
        rows.append(
            {
                "name": name,
                "label": names.field(name),
                "primary": names.value(name, mine),
                "secondary": names.value(name, theirs),
                "keep": keep,
            }
        )
    return rows


@workspace_view("write", also=("delete",))
@require_http_methods(["GET", "POST"])
def contact_merge(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Merge another contact into this one, choosing per field which value stays.

    Without ``other`` the page offers a search to pick the contact to merge in. The other
    contact is deleted after its activities, tags and values move here.
    """
    workspace, actor = request.workspace, request.actor
    primary = selectors.contact_get(workspace, actor, contact_id)
    raw_other = request.POST.get("other") or request.GET.get("other") or ""
    other_id = int(raw_other) if raw_other.strip().isdecimal() else None
    if request.method == "POST":
        if other_id is None:
            raise ValidationFailed([FieldError("other", "Choose the contact to merge in.")])
        choices = {
            key.removeprefix("keep__"): value
            for key, value in request.POST.items()
            if key.startswith("keep__")
        }
        selectors.contact_get(workspace, actor, other_id)
        services.contact_merge(
            workspace=workspace,
            primary_id=primary.pk,
            secondary_id=other_id,
            actor=actor,
            choices=choices,
        )
        messages.success(request, f"Merged into {primary}.")
        return redirect("contact_detail", workspace.slug, primary.pk)
    context: dict = {"contact": primary, "q": request.GET.get("q", "").strip()[:100]}
    if raw_other and other_id is None:
        context["other_error"] = "Enter a contact number."
    if other_id is not None:
        if other_id == primary.pk:
            context["other_error"] = "That is this contact; choose another one."
        else:
            try:
                secondary = selectors.contact_get(workspace, actor, other_id)
            except NotFound:
                context["other_error"] = "No contact with this number."
            else:
                members = _members(request)
                companies = {
                    c.pk: c.name for c in (primary.company, secondary.company) if c is not None
                }
                names = Names(
                    users={m.pk: m.display_name for m in members},
                    companies=companies,
                    custom_fields=selectors.custom_field_list(workspace),
                )
                context.update(secondary=secondary, rows=_merge_rows(primary, secondary, names))
    if "secondary" not in context and context["q"]:
        candidates = selectors.contact_list(workspace, actor, {"q": context["q"]}).exclude(
            pk=primary.pk
        )
        context["candidates"] = selectors.cursor_paginate(
            candidates, sort="-updated_at", cursor=None, limit=MERGE_CANDIDATES
        ).items
    return render_page(request, "web/contacts/merge.html", context)
