"""Settings → Products: the products the workspace sells (list, add, edit, archive and
restore) and the Stripe settings orders are paid through.

Every member may read these pages (a salesperson sees what the chat offers); changing
them needs ``manage_settings`` (owners, admins), as the deal settings. Ids in URLs are
looked up in the member's workspace: another workspace's product answers 404. Writes go
through ``deals.services``; a refused input comes back beside its input with 422.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.core.errors import ValidationFailed
from leadflow.core.secrets import secret_name_base
from leadflow.deals import selectors, services
from leadflow.deals.services.payments import (
    ENV_PREFIX,
    payment_secret_problems,
    payment_secret_set,
)
from leadflow.web.access import workspace_view
from leadflow.web.forms import error_map, non_field_errors
from leadflow.web.views.common import render_page

MANAGE = "manage_settings"
SECTION = "products"
PRODUCT_INPUTS = ("name", "description", "sku", "price", "currency", "image_url")
PAYMENT_INPUTS = ("secret_key_env", "webhook_secret_env", "success_url", "cancel_url")


def _forbidden() -> HttpForbidden:
    return HttpForbidden("Your role may not change the products or the payment settings.")


def _posted(post, inputs) -> dict:
    return {name: post.get(name, "").strip() for name in inputs}


def _products_page(
    request: HttpRequest,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    payment_values: dict | None = None,
    payment_errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = request.workspace
    config = selectors.payment_settings_read(workspace)
    errors, payment_errors = errors or {}, payment_errors or {}
    products = list(selectors.product_list(workspace))
    page = {
        "settings_section": SECTION,
        "active_products": [p for p in products if p.active],
        "archived_products": [p for p in products if not p.active],
        "values": values or {"currency": selectors.deal_settings_read(workspace).default_currency},
        "errors": errors,
        "other_errors": non_field_errors(errors, PRODUCT_INPUTS),
        "payment_values": payment_values
        or {name: getattr(config, name) for name in PAYMENT_INPUTS},
        "payment_errors": payment_errors,
        "payment_other_errors": non_field_errors(payment_errors, PAYMENT_INPUTS),
        "secret_key_set": payment_secret_set(config, "secret_key_env"),
        "webhook_secret_set": payment_secret_set(config, "webhook_secret_env"),
        "secret_problems": payment_secret_problems(config).values(),
        "env_base": secret_name_base(workspace.pk, ENV_PREFIX),
        "webhook_url": services.stripe_webhook_url(workspace.pk, request.build_absolute_uri("/")),
        "may_change": request.membership.can(MANAGE),
    }
    return render_page(request, "web/deals_products/list.html", page, status=status)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def product_list(request: HttpRequest) -> HttpResponse:
    """The products (offered, then archived) and the Stripe settings; a POST adds one."""
    if request.method == "GET":
        return _products_page(request)
    if not request.membership.can(MANAGE):
        raise _forbidden()
    shown = _posted(request.POST, PRODUCT_INPUTS)
    try:
        product = services.product_create(
            workspace=request.workspace, actor=request.actor, values=shown
        )
    except ValidationFailed as failure:
        return _products_page(request, values=shown, errors=error_map(failure), status=422)
    messages.success(request, f"Added the product “{product.name}”.")
    return redirect("deal_products", request.workspace.slug)


@workspace_view("read")
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, product_id: int) -> HttpResponse:
    """One product's fields; a POST saves them (orders placed before keep their prices)."""
    workspace = request.workspace
    product = selectors.product_get(workspace, product_id)
    may_change = request.membership.can(MANAGE)
    values = {name: getattr(product, name) for name in PRODUCT_INPUTS}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        if not may_change:
            raise _forbidden()
        values = _posted(request.POST, PRODUCT_INPUTS)
        try:
            product = services.product_update(
                workspace=workspace, actor=request.actor, product_id=product.pk, values=values
            )
        except ValidationFailed as failure:
            errors, status = error_map(failure), 422
        else:
            messages.success(request, f"Saved the product “{product.name}”.")
            return redirect("deal_products", workspace.slug)
    page = {
        "settings_section": SECTION,
        "product": product,
        "values": values,
        "errors": errors,
        "other_errors": non_field_errors(errors, PRODUCT_INPUTS),
        "may_change": may_change,
    }
    return render_page(request, "web/deals_products/edit.html", page, status=status)


@workspace_view(MANAGE)
@require_POST
def product_archive(request: HttpRequest, product_id: int) -> HttpResponse:
    """Archive a product (``archived=1``) or offer it again (``archived=0``)."""
    archived = request.POST.get("archived", "1") != "0"
    product = services.product_archive(
        workspace=request.workspace, actor=request.actor, product_id=product_id, archived=archived
    )
    verb = "Archived" if archived else "Offered again"
    messages.success(request, f"{verb}: “{product.name}”.")
    return redirect("deal_products", request.workspace.slug)


@workspace_view(MANAGE)
@require_POST
def payment_settings(request: HttpRequest) -> HttpResponse:
    """Save the Stripe settings (the variables' names and the return pages)."""
    shown = _posted(request.POST, PAYMENT_INPUTS)
    # Stripe's address is not on the page (the API sets it): a save keeps it.
    api_base = selectors.payment_settings_read(request.workspace).api_base
    try:
        services.payment_settings_save(
            workspace=request.workspace, actor=request.actor, values={**shown, "api_base": api_base}
        )
    except ValidationFailed as failure:
        return _products_page(
            request, payment_values=shown, payment_errors=error_map(failure), status=422
        )
    messages.success(request, "Saved the payment settings.")
    return redirect("deal_products", request.workspace.slug)
