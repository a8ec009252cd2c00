"""Writes of products: each in one transaction, audited; refused input raises
ValidationFailed naming each bad field and writes nothing.

- A product has a name (1-200 characters), a price ≥ 0 in an ISO 4217 currency (whole
  for the currencies without minor units, such as JPY), an optional SKU unique in the
  workspace, description and image address (http or https).
- Archiving (``active`` off) keeps the product for the orders that name it; an archived
  product cannot be ordered. Products are never deleted: orders keep their own copies of
  what they bought, but the deal pages link to the product.
"""

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.deals import selectors
from leadflow.deals.models import CURRENCY_PATTERN, Product
from leadflow.deals.services.pipelines import unknown_fields

PRODUCT_FIELDS = {"name", "description", "sku", "price", "currency", "image_url", "active"}
MAX_PRICE = Decimal("999999999999.99")
# ISO 4217 currencies without minor units, as Stripe lists them ("zero-decimal").
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
SKU = re.compile(r"[A-Za-z0-9._/-]{1,64}")


def _product_clean(
    workspace: Workspace, values: Mapping[str, Any], *, current: Product | None
) -> dict[str, Any]:
    errors = unknown_fields(values, PRODUCT_FIELDS)
    clean: dict[str, Any] = {}
    if "name" in values or current is None:
        name = str(values.get("name") or "").strip()
        if not name or len(name) > 200:
            errors.append(FieldError("name", "1 to 200 characters."))
        clean["name"] = name
    if "description" in values:
        description = str(values["description"] or "").strip()
        if len(description) > 5000:
            errors.append(FieldError("description", "At most 5,000 characters."))
        clean["description"] = description
    if "sku" in values:
        sku = str(values["sku"] or "").strip()
        if sku and not SKU.fullmatch(sku):
            errors.append(FieldError("sku", "Up to 64 letters, digits and . _ / -"))
        clean["sku"] = sku
    if "currency" in values or current is None:
        currency = str(values.get("currency") or "").strip().upper()
        if not currency:
            currency = selectors.deal_settings_read(workspace).default_currency
        if not re.match(CURRENCY_PATTERN, currency):
            errors.append(FieldError("currency", "An ISO 4217 code such as USD or EUR."))
        clean["currency"] = currency
    if "price" in values or current is None:
        raw = values.get("price")
        try:
            if raw in (None, "") or isinstance(raw, bool):
                raise InvalidOperation
            price = Decimal(str(raw).strip())
            if not price.is_finite() or price < 0 or price > MAX_PRICE:
                raise InvalidOperation
            if price != price.quantize(Decimal("0.01")):
                raise InvalidOperation
            clean["price"] = price.quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            errors.append(FieldError("price", f"A number from 0 to {MAX_PRICE}, two decimals."))
    currency = clean.get("currency", current.currency if current else "")
    price = clean.get("price", current.price if current else None)
    if currency in ZERO_DECIMAL and price is not None and price != price.to_integral_value():
        errors.append(FieldError("price", f"{currency} has no minor units: a whole number."))
    if "image_url" in values:
        image_url = str(values["image_url"] or "").strip()
        parts = urlsplit(image_url)
        if image_url and (
            len(image_url) > 500 or parts.scheme not in ("http", "https") or not parts.hostname
        ):
            errors.append(FieldError("image_url", "An http:// or https:// address."))
        clean["image_url"] = image_url
    if "active" in values:
        if not isinstance(values["active"], bool):
            errors.append(FieldError("active", "true or false."))
        clean["active"] = values["active"]
    if errors:
        raise ValidationFailed(errors)
    return clean


def _save(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as error:
        # The one unique rule a product has: its SKU in the workspace.
        raise ValidationFailed(
            [FieldError("sku", "Another product of this workspace has this SKU.")]
        ) from error


def product_create(*, workspace: Workspace, actor: Actor, values: Mapping[str, Any]) -> Product:
    """A new product (active unless ``active`` is false); currency default: the deal
    settings' currency."""
    clean = _product_clean(workspace, values, current=None)
    now = timezone.now()
    with transaction.atomic():
        product = Product(workspace=workspace, created_at=now, updated_at=now, **clean)
        _save(product)
        audit_record(workspace=workspace, actor=actor, action="product.created", obj=product)
    return product


def product_update(
    *, workspace: Workspace, actor: Actor, product_id: int, values: Mapping[str, Any]
) -> Product:
    """Change a product's fields; orders placed before keep the price they were placed
    at. ``active: false`` archives it, ``true`` offers it again."""
    with transaction.atomic():
        product = (
            Product.objects.select_for_update().filter(workspace=workspace, pk=product_id).first()
        )
        if product is None:
            raise NotFound("No such product.")
        clean = _product_clean(workspace, values, current=product)
        changes = {
            key: [str(getattr(product, key)), str(value)]
            for key, value in clean.items()
            if getattr(product, key) != value
        }
        for key, value in clean.items():
            setattr(product, key, value)
        product.updated_at = timezone.now()
        _save(product)
        audit_record(
            workspace=workspace,
            actor=actor,
            action="product.updated",
            obj=product,
            changes=changes,
        )
    return product


def product_archive(
    *, workspace: Workspace, actor: Actor, product_id: int, archived: bool = True
) -> Product:
    """Archive a product (no longer offered or orderable) or, with ``archived=False``,
    offer it again."""
    return product_update(
        workspace=workspace, actor=actor, product_id=product_id, values={"active": not archived}
    )
