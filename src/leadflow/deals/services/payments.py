"""Payment of orders through Stripe Checkout Sessions (docs/deals.md, decision 0039).

Guarantees:

- No secret is stored: the workspace's settings name the environment variables holding
  its Stripe secret key and its webhook signing secret, the workspace's own
  (``LEADFLOW_STRIPE_W<workspace id>_…``: core.secrets); a name that is not reads as unset.
- ``order_checkout_create`` asks Stripe for a Checkout Session of a pending order (its
  lines at the prices stored in the order, in the currency's minor units; the order's
  and the workspace's ids in the metadata) and returns the page to send the buyer to; the
  session's id is kept on the order. The call happens outside any transaction, with an
  idempotency key per order and parameters, so a retry makes no second session.
- A webhook is believed only when its ``Stripe-Signature`` header verifies on the raw
  body with the workspace's signing secret and a timestamp within 300 s
  (``stripe_event_verify``, Stripe's own ``WebhookSignature.verify_header``, which
  refuses older timestamps, and a check of our own that refuses later ones).
- ``stripe_event_record`` stores each event once (``PaymentEvent``, unique per workspace
  and event id) in the same transaction as what it does, so a retried delivery, or two
  deliveries at once, act once: ``checkout.session.completed`` with ``payment_status``
  paid and ``checkout.session.async_payment_succeeded`` mark the order paid
  (``order_mark_paid``: the deal won); ``checkout.session.expired`` marks it expired.
  An event for an order this workspace does not have is stored as ``unknown_order``,
  logged, and answered 200 (Stripe stops retrying it). The buyer's return to the success
  page proves nothing and changes nothing.
"""

import hashlib
import json
import logging
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.secrets import secret_name_error, secret_name_problems, secret_read
from leadflow.core.services import audit_record
from leadflow.core.webhook_tokens import workspace_of_webhook_token, workspace_webhook_token
from leadflow.deals import selectors
from leadflow.deals.models import Order, OrderStatus, PaymentEvent, PaymentSettings
from leadflow.deals.services.orders import order_mark_expired, order_mark_paid
from leadflow.deals.services.products import ZERO_DECIMAL

logger = logging.getLogger(__name__)
PROVIDER = "stripe"
ENV_PREFIX = "LEADFLOW_STRIPE_"
TOLERANCE = 300  # seconds, Stripe's default and documented tolerance
WEBHOOK_SALT = "leadflow.deals.stripe-webhook"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Currencies Stripe counts in thousandths (amounts a multiple of 10).
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
EXPIRED_EVENT = "checkout.session.expired"
SECRET_FIELDS = ("secret_key_env", "webhook_secret_env")
SETTINGS_FIELDS = {*SECRET_FIELDS, "api_base", "success_url", "cancel_url"}


class SignatureRefused(Exception):
    """The webhook's signature did not verify (or no secret to verify it with)."""


class EventUnreadable(Exception):
    """A signed body that is not an event we can read; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# --- settings ---------------------------------------------------------------------------------


def _env_name(workspace: Workspace, values, key: str, errors: list[FieldError]) -> str:
    name = str(values.get(key) or "").strip()
    problem = secret_name_error(workspace.pk, ENV_PREFIX, name) if name else None
    if problem:
        errors.append(FieldError(key, problem))
    return name


def _address(value: Any, key: str, errors: list[FieldError], *, loopback_only_http: bool) -> str:
    address = str(value or "").strip()
    if not address:
        return ""
    parts = urlsplit(address)
    plain_allowed = not loopback_only_http or parts.hostname in LOOPBACK
    if (
        len(address) > 500
        or not parts.hostname
        or not (parts.scheme == "https" or (parts.scheme == "http" and plain_allowed))
    ):
        hint = "http only to localhost" if loopback_only_http else "or http://"
        errors.append(FieldError(key, f"Give an https:// address ({hint})."))
    return address


def payment_settings_save(
    *, workspace: Workspace, actor: Actor, values: dict[str, Any]
) -> PaymentSettings:
    """Replace the Stripe settings: the variables' names (``LEADFLOW_STRIPE_W<id>…``), Stripe's
    address (https; http only to this machine) and the default pages the buyer returns to
    after paying or cancelling."""
    errors = [FieldError(key, "Unknown setting.") for key in values if key not in SETTINGS_FIELDS]
    clean = {
        "secret_key_env": _env_name(workspace, values, "secret_key_env", errors),
        "webhook_secret_env": _env_name(workspace, values, "webhook_secret_env", errors),
        "api_base": _address(
            values.get("api_base") or "https://api.stripe.com",
            "api_base",
            errors,
            loopback_only_http=True,
        ).rstrip("/"),
        "success_url": _address(
            values.get("success_url"), "success_url", errors, loopback_only_http=False
        ),
        "cancel_url": _address(
            values.get("cancel_url"), "cancel_url", errors, loopback_only_http=False
        ),
    }
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        row, _ = PaymentSettings.objects.update_or_create(
            workspace=workspace, defaults={**clean, "updated_at": timezone.now()}
        )
        audit_record(
            workspace=workspace, actor=actor, action="payments.settings_updated", changes=clean
        )
    return row


def payment_secret(config: PaymentSettings, field: str) -> str:
    """The value of the variable the settings' ``field`` names ("" when it is unset or
    not this workspace's to name)."""
    return secret_read(config.workspace_id, ENV_PREFIX, getattr(config, field))


def payment_secret_set(config: PaymentSettings, field: str) -> bool:
    """The variable the settings' ``field`` names is set and usable (its value never shown)."""
    return bool(payment_secret(config, field))


def payment_secret_problems(config: PaymentSettings) -> dict[str, str]:
    """For each name saved that is not this workspace's: the line saying to rename it."""
    return secret_name_problems(config, dict.fromkeys(SECRET_FIELDS, ENV_PREFIX))


# --- the webhook's address ---------------------------------------------------------------------


def stripe_webhook_token(workspace_id: int) -> str:
    """The token in the workspace's webhook address (derived from the installation's
    secret; it only routes a post, the signature authenticates it)."""
    return workspace_webhook_token(WEBHOOK_SALT, workspace_id)


def stripe_webhook_workspace(token: str) -> Workspace | None:
    """The workspace a webhook token was made for, or None."""
    return workspace_of_webhook_token(WEBHOOK_SALT, token)


def stripe_webhook_url(workspace_id: int, base_url: str) -> str:
    """The address to give Stripe: on LEADFLOW_BASE_URL when it is set, else ``base_url``."""
    root = (settings.LEADFLOW_BASE_URL or base_url).rstrip("/")
    return root + reverse(
        "deals_stripe_webhook", kwargs={"token": stripe_webhook_token(workspace_id)}
    )


# --- checkout -----------------------------------------------------------------------------------


def minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` in the currency's smallest unit as Stripe counts it (cents; yen; fils)."""
    if currency in ZERO_DECIMAL:
        return int(amount.to_integral_value())
    if currency in THREE_DECIMAL:
        return int((amount * 1000).to_integral_value())
    return int((amount * 100).to_integral_value())


def checkout_session_params(
    order: Order, *, success_url: str, cancel_url: str, customer_email: str = ""
) -> dict[str, Any]:
    """The Checkout Session Stripe is asked for: the order's lines at their stored
    prices, where the buyer returns, and the ids the webhook finds the order by."""
    metadata = {"order_id": str(order.pk), "workspace_id": str(order.workspace_id)}
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": line["quantity"],
                "price_data": {
                    "currency": order.currency.lower(),
                    "unit_amount": minor_units(Decimal(line["unit_price"]), order.currency),
                    "product_data": {"name": line["name"][:250]},
                },
            }
            for line in order.items
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(order.pk),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
    }
    if customer_email:
        params["customer_email"] = customer_email
    return params


def order_checkout_create(
    *,
    workspace: Workspace,
    order_id: int,
    success_url: str = "",
    cancel_url: str = "",
) -> str:
    """A Stripe Checkout Session for a pending order; returns its page's address. The
    return pages default to the workspace's settings. Conflict when payments are not set
    up, the order is not pending, or Stripe refuses or cannot be reached."""
    order = selectors.order_get(workspace, order_id)
    if order.status != OrderStatus.PENDING:
        raise Conflict("Only an order awaiting payment can be paid.", code="order_not_pending")
    config = selectors.payment_settings_read(workspace)
    secret_key = payment_secret(config, "secret_key_env")
    if not secret_key:
        raise Conflict("Payments are not set up for this workspace.", code="payments_not_set_up")
    errors: list[FieldError] = []
    success = _address(
        success_url or config.success_url, "success_url", errors, loopback_only_http=False
    )
    cancel = _address(
        cancel_url or config.cancel_url or success, "cancel_url", errors, loopback_only_http=False
    )
    if not success and not errors:
        errors.append(FieldError("success_url", "Give the page the buyer returns to."))
    if errors:
        raise ValidationFailed(errors)
    email = order.contact.email if order.contact_id and order.contact.email else ""
    params = checkout_session_params(
        order, success_url=success, cancel_url=cancel, customer_email=email
    )
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    client = stripe.StripeClient(
        secret_key, base_addresses={"api": config.api_base}, max_network_retries=2
    )
    try:
        session = client.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": f"leadflow-order-{order.pk}-{digest}"}
        )
    except stripe.StripeError as error:
        logger.warning("Stripe refused a checkout for order %s: %s", order.pk, error)
        raise Conflict(
            "The payment provider did not make the checkout; try again.",
            code="payment_provider_failed",
        ) from error
    Order.objects.filter(workspace=workspace, pk=order.pk, status=OrderStatus.PENDING).update(
        provider=PROVIDER, checkout_session_id=str(session.id)[:255], updated_at=timezone.now()
    )
    return str(session.url)


# --- the webhook -----------------------------------------------------------------------------


def stripe_event_verify(*, workspace: Workspace, payload: bytes, signature: str) -> dict:
    """The event, once ``signature`` (the Stripe-Signature header) verifies on the raw
    ``payload`` with the workspace's signing secret within 300 s. SignatureRefused
    otherwise (no secret configured included); EventUnreadable for a signed body that
    is not an event."""
    config = selectors.payment_settings_read(workspace)
    secret = payment_secret(config, "webhook_secret_env")
    if not secret:
        raise SignatureRefused("No signing secret to check the signature with.")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance=TOLERANCE)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise SignatureRefused(str(error)) from error
    # Stripe's check refuses only timestamps too old; one from the future is refused too.
    stamps = [part[2:] for part in signature.split(",") if part.startswith("t=")]
    if not stamps or not stamps[0].isdigit() or int(stamps[0]) > time.time() + TOLERANCE:
        raise SignatureRefused("The signature's timestamp is outside the tolerance.")
    try:
        event = json.loads(payload)
    except ValueError as error:
        raise EventUnreadable("body", "Not JSON.") from error
    if not isinstance(event, dict):
        raise EventUnreadable("body", "Not an event.")
    for key in ("id", "type"):
        if not isinstance(event.get(key), str) or not 0 < len(event[key]) <= 255:
            raise EventUnreadable(key, "A text of 1 to 255 characters.")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise EventUnreadable("data.object", "An object.")
    return event


def _order_id(workspace: Workspace, session: dict) -> int | None:
    metadata = session.get("metadata") if isinstance(session.get("metadata"), dict) else {}
    order_id = str(metadata.get("order_id") or session.get("client_reference_id") or "")
    if str(metadata.get("workspace_id") or workspace.pk) != str(workspace.pk):
        return None
    if not order_id.isdigit() or len(order_id) > 18:
        return None
    return int(order_id)


def _apply(workspace: Workspace, event: dict) -> tuple[str, int | None]:
    kind = event["type"]
    if kind not in PAID_EVENTS and kind != EXPIRED_EVENT:
        return "ignored", None
    session = event["data"]["object"]
    order_id = _order_id(workspace, session)
    exists = (
        order_id is not None and Order.objects.filter(workspace=workspace, pk=order_id).exists()
    )
    if not exists:
        logger.warning(
            "Stripe event %s (%s) names no order of workspace %s.",
            event["id"],
            kind,
            workspace.pk,
        )
        return "unknown_order", None
    session_id = str(session.get("id") or "")
    if kind in PAID_EVENTS:
        if kind == "checkout.session.completed" and session.get("payment_status") != "paid":
            return "awaiting_payment", order_id  # a delayed method: async_payment_* follows
        intent = session.get("payment_intent")
        changed = order_mark_paid(
            workspace=workspace,
            order_id=order_id,
            provider=PROVIDER,
            payment_intent_id=intent if isinstance(intent, str) else "",
            checkout_session_id=session_id,
        )
        return ("paid" if changed else "already_paid"), order_id
    changed = order_mark_expired(
        workspace=workspace, order_id=order_id, checkout_session_id=session_id
    )
    return ("expired" if changed else "not_expired"), order_id


def stripe_event_record(*, workspace: Workspace, event: dict) -> str:
    """Act on a verified event once: its row (unique per workspace and event id) and
    what it does commit together; a second delivery of the id answers "duplicate" and
    does nothing. Returns the outcome stored on the row."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = PaymentEvent.objects.create(
                    workspace=workspace,
                    provider=PROVIDER,
                    event_id=event["id"],
                    event_type=event["type"][:100],
                    outcome="received",
                )
        except IntegrityError:
            return "duplicate"
        try:
            outcome, order_id = _apply(workspace, event)
        except NotFound:
            outcome, order_id = "unknown_order", None
        row.outcome = outcome
        row.order_id = order_id
        row.save(update_fields=["outcome", "order"])
    return outcome
