"""Companies: list (search, keyset pages), detail with its contacts, create, edit, delete.

Company ids in URLs are looked up inside the current workspace: another workspace's id
answers 404. Writes go through ``contacts.services.company_*``.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_safe

from leadflow.contacts import selectors, services
from leadflow.contacts.models import Company, CompanySize
from leadflow.core import selectors as core_selectors
from leadflow.core.errors import ValidationFailed
from leadflow.core.selectors import LEAD_OWNER_PERMISSION
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import PAGE_SIZE, query_with, render_page

COMPANY_FIELDS = ("name", "domain", "size", "industry", "country", "owner_id")
COMPANY_CONTACTS_PAGE = 25


@workspace_view("read")
@require_safe
def company_list(request: HttpRequest) -> HttpResponse:
    """Companies by name, searchable by name or domain, one keyset page at a time."""
    q = request.GET.get("q", "").strip()[:100]
    error = ""
    page = None
    try:
        page = selectors.cursor_paginate(
            selectors.company_list(request.workspace, q),
            sort="name",
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except ValidationFailed:
        error = "This page link is not valid any more; showing the first page."
        page = selectors.cursor_paginate(
            selectors.company_list(request.workspace, q), sort="name", cursor=None, limit=PAGE_SIZE
        )
    context = {
        "q": q,
        "page": page,
        "error": error,
        "next_query": query_with({"q": q}, cursor=page.next_cursor) if page.next_cursor else "",
        "is_later_page": bool(request.GET.get("cursor")),
    }
    return render_page(
        request, "web/companies/list.html", context, partials={"company-results": "results"}
    )


@workspace_view("read")
@require_safe
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    """One company and the contacts (the member may see) who work there."""
    company = selectors.company_get(request.workspace, company_id)
    contacts = selectors.contact_list(request.workspace, request.actor, {"company": company.pk})
    try:
        page = selectors.cursor_paginate(
            contacts,
            sort="-created_at",
            cursor=request.GET.get("cursor") or None,
            limit=COMPANY_CONTACTS_PAGE,
        )
    except ValidationFailed:
        page = selectors.cursor_paginate(
            contacts, sort="-created_at", cursor=None, limit=COMPANY_CONTACTS_PAGE
        )
    total, capped = selectors.count_capped(contacts)
    context = {
        "company": company,
        "page": page,
        "total": total,
        "capped": capped,
        "next_query": query_with({}, cursor=page.next_cursor) if page.next_cursor else "",
    }
    return render_page(request, "web/companies/detail.html", context)


def _form_page(
    request: HttpRequest, company: Company | None, values: dict, errors: dict, status: int = 200
) -> HttpResponse:
    context = {
        "company": company,
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, COMPANY_FIELDS),
        "size_choices": CompanySize.choices,
        "owner_choices": list(
            core_selectors.member_users(request.workspace, permission=LEAD_OWNER_PERMISSION)
        ),
    }
    return render_page(request, "web/companies/form.html", context, status=status)


def _posted(request: HttpRequest) -> dict:
    return {name: request.POST.get(name, "") for name in COMPANY_FIELDS}


@workspace_view("write")
@require_http_methods(["GET", "POST"])
def company_create(request: HttpRequest) -> HttpResponse:
    """A form for a new company; field errors show beside their fields."""
    if request.method == "GET":
        return _form_page(request, None, {}, {})
    values = _posted(request)
    try:
        company = services.company_create(
            workspace=request.workspace, data=values, actor=request.actor
        )
    except ValidationFailed as failure:
        return _form_page(request, None, values, error_map(failure), status=422)
    messages.success(request, f"Created {company}.")
    return redirect("company_detail", request.workspace.slug, company.pk)


@workspace_view("write")
@require_http_methods(["GET", "POST"])
def company_edit(request: HttpRequest, company_id: int) -> HttpResponse:
    """Change a company of this workspace; field errors show beside their fields."""
    company = selectors.company_get(request.workspace, company_id)
    if request.method == "GET":
        values = {name: getattr(company, name) or "" for name in COMPANY_FIELDS}
        return _form_page(request, company, values, {})
    values = _posted(request)
    try:
        services.company_update(
            workspace=request.workspace, company_id=company.pk, data=values, actor=request.actor
        )
    except ValidationFailed as failure:
        return _form_page(request, company, values, error_map(failure), status=422)
    messages.success(request, "Saved.")
    return redirect("company_detail", request.workspace.slug, company.pk)


@workspace_view("delete")
@require_http_methods(["GET", "POST"])
def company_delete(request: HttpRequest, company_id: int) -> HttpResponse:
    """Ask, then delete the company; its contacts stay, without a company."""
    company = selectors.company_get(request.workspace, company_id)
    if request.method == "POST":
        services.company_delete(
            workspace=request.workspace, company_id=company.pk, actor=request.actor
        )
        messages.success(request, f"Deleted {company}.")
        return redirect("company_list", request.workspace.slug)
    return render_page(request, "web/companies/delete.html", {"company": company})
