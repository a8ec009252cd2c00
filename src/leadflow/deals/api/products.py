"""Products, orders and the Stripe settings over the REST API (/api/v1/deals/…).

Products are read with ``contacts:read`` and changed with ``settings:write`` (as
pipelines); a DELETE archives (orders keep their own copy of what they bought). Orders
are read with ``contacts:read`` and placed with ``contacts:write`` (honouring
``Idempotency-Key``); ``/deals/orders/{id}/checkout`` returns the Stripe page to pay on.
Nothing here marks an order paid: only Stripe's signed webhook does. The payment settings
need ``settings:read`` / ``settings:write``; they hold environment variables' names,
never a secret. Another workspace's ids answer 404; bad input 422 naming the field."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from leadflow.contacts.selectors import contact_get
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.deals import selectors, services
from leadflow.deals.models import Order
from leadflow.deals.services.payments import payment_secret_problems, payment_secret_set

router = Router(tags=["products and orders"])
BIG = 2**63 - 1
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE
SETTINGS_READ, SETTINGS_WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE


class ProductOut(Schema):
    id: int
    name: str
    description: str
    sku: str
    price: str = Field(description="A decimal number as text, two decimals.")
    currency: str = Field(description="ISO 4217.")
    image_url: str
    active: bool = Field(description="Offered; false: archived.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_price(product) -> str:
        return f"{product.price:.2f}"


class ProductIn(StrictSchema):
    name: str
    description: str = ""
    sku: str = ""
    price: Decimal = Field(ge=0, le=Decimal("999999999999.99"))
    currency: str | None = Field(None, description="Default: the deal settings' currency.")
    image_url: str = ""
    active: bool = True


class ProductPatch(StrictSchema):
    name: str | None = None
    description: str | None = None
    sku: str | None = None
    price: Decimal | None = Field(None, ge=0, le=Decimal("999999999999.99"))
    currency: str | None = None
    image_url: str | None = None
    active: bool | None = None


class OrderLine(Schema):
    product_id: int
    name: str
    sku: str
    quantity: int
    unit_price: str
    amount: str


class OrderOut(Schema):
    id: int
    deal_id: int | None
    contact_id: int | None
    items: list[OrderLine] = Field(description="As they were when the order was placed.")
    total: str
    currency: str
    status: Literal["pending", "paid", "cancelled", "expired"]
    source: str
    provider: str
    checkout_session_id: str
    created_at: dt.datetime
    paid_at: dt.datetime | None

    @staticmethod
    def resolve_total(order: Order) -> str:
        return f"{order.total:.2f}"


class OrderItemIn(StrictSchema):
    product_id: int = Field(ge=1, le=BIG)
    quantity: int = Field(1, ge=1, le=1000)


class OrderIn(StrictSchema):
    contact_id: int = Field(ge=1, le=BIG)
    items: list[OrderItemIn] = Field(min_length=1, max_length=50)
    source: str = Field("api", max_length=50)


class CheckoutIn(StrictSchema):
    success_url: str = Field("", max_length=500, description="Default: the settings' page.")
    cancel_url: str = Field("", max_length=500)


class CheckoutOut(Schema):
    url: str = Field(description="Stripe's page where the buyer pays.")


class PaymentSettingsOut(Schema):
    secret_key_env: str
    secret_key_set: bool = Field(
        description="The variable is set on the server (and is this workspace's to name)."
    )
    webhook_secret_env: str
    webhook_secret_set: bool
    env_problems: dict[str, str] = Field(
        description="For each name above that is not this workspace's own (saved before names "
        "were scoped): it reads as not set; the message says what to rename the variable to."
    )
    api_base: str
    success_url: str
    cancel_url: str
    webhook_url: str = Field(description="Give it to Stripe as the webhook endpoint.")


class PaymentSettingsIn(StrictSchema):
    secret_key_env: str = Field(
        "", description="LEADFLOW_STRIPE_W<workspace id>[_…]: holds the secret key."
    )
    webhook_secret_env: str = Field(
        "", description="LEADFLOW_STRIPE_W<workspace id>[_…]: the signing secret."
    )
    api_base: str = "https://api.stripe.com"
    success_url: str = ""
    cancel_url: str = ""


def _product_json(product, status: int) -> HttpResponse:
    return json_response(ProductOut.from_orm(product).dict(), status=status)


# --- products ----------------------------------------------------------------------------------


@router.get("/deals/products", response=list[ProductOut], summary="List products")
def product_list(request: HttpRequest, active: bool | None = Query(None)):
    """By name; ``active=true`` only those offered, ``false`` only the archived."""
    workspace, _ = require_scope(request, READ)
    return list(selectors.product_list(workspace, active=active))


@router.post("/deals/products", response={201: ProductOut}, summary="Add a product")
def product_create(request: HttpRequest, payload: ProductIn):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    values = payload.dict()

    def produce() -> HttpResponse:
        product = services.product_create(workspace=workspace, actor=actor, values=values)
        return _product_json(product, 201)

    return idempotent(request, workspace, produce)


@router.get("/deals/products/{product_id}", response=ProductOut, summary="One product")
def product_get(request: HttpRequest, product_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, READ)
    return selectors.product_get(workspace, product_id)


@router.patch("/deals/products/{product_id}", response=ProductOut, summary="Change a product")
def product_update(
    request: HttpRequest, payload: ProductPatch, product_id: int = Path(..., ge=1, le=BIG)
):
    """Orders placed before keep their prices; ``active: false`` archives."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    values = payload.dict(exclude_unset=True)
    if "active" in values and values["active"] is None:
        raise ValidationFailed([FieldError("active", "true or false.")])
    return services.product_update(
        workspace=workspace, actor=actor, product_id=product_id, values=values
    )


@router.delete("/deals/products/{product_id}", response={204: None}, summary="Archive a product")
def product_archive(request: HttpRequest, product_id: int = Path(..., ge=1, le=BIG)):
    """The product is offered no more; orders and their deals keep what they bought."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    services.product_archive(workspace=workspace, actor=actor, product_id=product_id)
    return Status(204, None)


# --- orders -----------------------------------------------------------------------------------


@router.get("/deals/orders", response=list[OrderOut], summary="List orders")
def order_list(
    request: HttpRequest,
    status: Literal["pending", "paid", "cancelled", "expired"] | None = Query(None),
    limit: int = Query(50, ge=1, le=500),
):
    """Newest first."""
    workspace, _ = require_scope(request, READ)
    orders = selectors.order_list(workspace)
    if status:
        orders = orders.filter(status=status)
    return list(orders[:limit])


@router.post("/deals/orders", response={201: OrderOut}, summary="Place an order")
def order_place(request: HttpRequest, payload: OrderIn):
    """Opens a deal for the contact with the order's total; the order awaits payment.
    Honours ``Idempotency-Key``."""
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        try:
            contact = contact_get(workspace, actor, payload.contact_id)
        except NotFound as error:
            raise ValidationFailed(
                [FieldError("contact_id", "No such contact in this workspace.")]
            ) from error
        order = services.order_place(
            workspace=workspace,
            contact=contact,
            items=[(item.product_id, item.quantity) for item in payload.items],
            source=payload.source,
            actor=actor,
        )
        return json_response(OrderOut.from_orm(order).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.get("/deals/orders/{order_id}", response=OrderOut, summary="One order")
def order_get(request: HttpRequest, order_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, READ)
    return selectors.order_get(workspace, order_id)


@router.post(
    "/deals/orders/{order_id}/checkout", response=CheckoutOut, summary="Pay an order on Stripe"
)
def order_checkout(
    request: HttpRequest, payload: CheckoutIn, order_id: int = Path(..., ge=1, le=BIG)
):
    """A Stripe Checkout Session for a pending order: send the buyer to ``url``. The order
    becomes paid only when Stripe's signed webhook says so. 409 when payments are not set
    up, the order is not pending, or Stripe refused."""
    workspace, _ = require_scope(request, WRITE)
    url = services.order_checkout_create(
        workspace=workspace,
        order_id=order_id,
        success_url=payload.success_url,
        cancel_url=payload.cancel_url,
    )
    return {"url": url}


# --- payment settings --------------------------------------------------------------------------


def _settings_out(request: HttpRequest, workspace, config) -> dict:
    return {
        "secret_key_env": config.secret_key_env,
        "secret_key_set": payment_secret_set(config, "secret_key_env"),
        "webhook_secret_env": config.webhook_secret_env,
        "webhook_secret_set": payment_secret_set(config, "webhook_secret_env"),
        "env_problems": payment_secret_problems(config),
        "api_base": config.api_base,
        "success_url": config.success_url,
        "cancel_url": config.cancel_url,
        "webhook_url": services.stripe_webhook_url(workspace.pk, request.build_absolute_uri("/")),
    }


@router.get("/deals/payment-settings", response=PaymentSettingsOut, summary="The Stripe settings")
def payment_settings_get(request: HttpRequest):
    workspace, _ = require_scope(request, SETTINGS_READ)
    return _settings_out(request, workspace, selectors.payment_settings_read(workspace))


@router.put(
    "/deals/payment-settings", response=PaymentSettingsOut, summary="Replace the Stripe settings"
)
def payment_settings_put(request: HttpRequest, payload: PaymentSettingsIn):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    config = services.payment_settings_save(workspace=workspace, actor=actor, values=payload.dict())
    return _settings_out(request, workspace, config)
