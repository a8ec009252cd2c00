"""Products through the services and /api/v1/deals/products, orders through
/api/v1/deals/orders, the Stripe settings through /api/v1/deals/payment-settings: bad input
named, archiving, SKUs unique per workspace, scopes, and another workspace's ids 404."""

import pytest

from leadflow.core.errors import ValidationFailed
from leadflow.core.secrets import secret_name_base
from leadflow.deals import services
from leadflow.deals.models import Deal, Order, Product
from leadflow.deals.services.payments import ENV_PREFIX

pytestmark = pytest.mark.django_db


def test_a_product_takes_the_workspaces_currency_and_names_each_bad_field(workspace, owner_actor):
    services.deal_settings_update(
        workspace=workspace, actor=owner_actor, values={"currency": "GBP"}
    )
    product = services.product_create(
        workspace=workspace, actor=owner_actor, values={"name": " Kite ", "price": "99.9"}
    )
    assert (product.name, str(product.price), product.currency) == ("Kite", "99.90", "GBP")
    with pytest.raises(ValidationFailed) as error:
        services.product_create(
            workspace=workspace,
            actor=owner_actor,
            values={
                "name": "",
                "price": "-1",
                "currency": "EURO",
                "image_url": "javascript:alert(1)",
                "sku": "no spaces",
                "colour": "red",
            },
        )
    assert {e.field for e in error.value.errors} == {
        "name", "price", "currency", "image_url", "sku", "colour",
    }  # fmt: skip
    with pytest.raises(ValidationFailed) as error:
        services.product_create(
            workspace=workspace,
            actor=owner_actor,
            values={"name": "Tea", "price": "10.5", "currency": "JPY"},
        )
    assert [e.field for e in error.value.errors] == ["price"]


def test_a_sku_is_unique_in_a_workspace_only(workspace, other_workspace, owner_actor):
    values = {"name": "Kite", "price": "1", "currency": "EUR", "sku": "K-1"}
    services.product_create(workspace=workspace, actor=owner_actor, values=values)
    services.product_create(workspace=other_workspace, actor=owner_actor, values=values)
    with pytest.raises(ValidationFailed) as error:
        services.product_create(workspace=workspace, actor=owner_actor, values=values)
    assert [e.field for e in error.value.errors] == ["sku"]
    assert Product.objects.filter(workspace=workspace).count() == 1


def test_products_crud_through_the_api(api):
    created = api.post(
        "/deals/products",
        {"name": "Kite", "price": "120.5", "currency": "eur", "sku": "K-1"},
        headers={"Idempotency-Key": "p1"},
    )
    again = api.post(
        "/deals/products",
        {"name": "Kite", "price": "120.5", "currency": "eur", "sku": "K-1"},
        headers={"Idempotency-Key": "p1"},
    )
    assert created.status_code == 201 and again.json() == created.json()
    product = created.json()
    assert (product["price"], product["currency"], product["active"]) == ("120.50", "EUR", True)
    path = f"/deals/products/{product['id']}"
    changed = api.patch(path, {"price": "99", "description": "Twelve square metres"})
    assert changed.status_code == 200 and changed.json()["price"] == "99.00"
    assert api.get(path).json()["description"] == "Twelve square metres"
    assert api.delete(path).status_code == 204
    assert api.get(path).json()["active"] is False
    assert [p["id"] for p in api.get("/deals/products?active=false").json()] == [product["id"]]
    assert api.get("/deals/products?active=true").json() == []
    bad = api.post("/deals/products", {"name": "", "price": "1", "currency": "EURO"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"name", "currency"}
    assert api.patch(path, {"active": None}).status_code == 422


def test_another_workspaces_product_and_order_answer_404(api, other_api, lead):
    product = other_api.post(
        "/deals/products", {"name": "Theirs", "price": "1", "currency": "EUR"}
    ).json()
    path = f"/deals/products/{product['id']}"
    assert api.get(path).status_code == 404
    assert api.patch(path, {"name": "Mine"}).status_code == 404
    assert api.delete(path).status_code == 404
    placed = api.post(
        "/deals/orders", {"contact_id": lead.pk, "items": [{"product_id": product["id"]}]}
    )
    assert placed.status_code == 422
    assert placed.json()["errors"][0]["field"] == "items.0.product_id"
    mine = api.post("/deals/products", {"name": "Mine", "price": "5", "currency": "EUR"}).json()
    order = api.post(
        "/deals/orders",
        {"contact_id": lead.pk, "items": [{"product_id": mine["id"], "quantity": 3}]},
    ).json()
    assert other_api.get(f"/deals/orders/{order['id']}").status_code == 404
    assert other_api.post(f"/deals/orders/{order['id']}/checkout", {}).status_code == 404
    assert other_api.get("/deals/orders").json() == []


def test_an_order_placed_through_the_api_opens_a_deal_and_awaits_payment(api, lead):
    product = api.post("/deals/products", {"name": "Kite", "price": "10", "currency": "EUR"})
    body = {"contact_id": lead.pk, "items": [{"product_id": product.json()["id"], "quantity": 3}]}
    response = api.post("/deals/orders", body, headers={"Idempotency-Key": "o1"})
    again = api.post("/deals/orders", body, headers={"Idempotency-Key": "o1"})
    assert response.status_code == 201 and again.json() == response.json()
    order = response.json()
    assert (order["total"], order["status"], order["source"]) == ("30.00", "pending", "api")
    assert Order.objects.count() == 1 and Deal.objects.get(pk=order["deal_id"]).contact == lead
    assert [o["id"] for o in api.get("/deals/orders?status=pending").json()] == [order["id"]]
    assert api.get("/deals/orders?status=paid").json() == []
    # Payments not set up: the checkout is refused, the order untouched.
    assert api.post(f"/deals/orders/{order['id']}/checkout", {}).status_code == 409


def test_the_payment_settings_show_names_never_secrets(api, workspace, monkeypatch):
    base = secret_name_base(workspace.pk, ENV_PREFIX)
    monkeypatch.setenv(base + "_KEY", "sk_test_shh")
    saved = api.put(
        "/deals/payment-settings",
        {"secret_key_env": base + "_KEY", "webhook_secret_env": base + "_WEBHOOK"},
    )
    assert saved.status_code == 200
    body = saved.json()
    assert body["secret_key_set"] is True and body["webhook_secret_set"] is False
    assert "/hooks/stripe/" in body["webhook_url"] and "sk_test_shh" not in saved.content.decode()
    bad = api.put("/deals/payment-settings", {"secret_key_env": "sk_live_123"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "secret_key_env"


def test_a_key_without_the_scope_is_refused(workspace, api_key_for):
    reader = api_key_for(workspace, scopes=["contacts:read"])
    assert reader.get("/deals/products").status_code == 200
    refused = reader.post("/deals/products", {"name": "Kite", "price": "1", "currency": "EUR"})
    assert refused.status_code == 403
    assert reader.get("/deals/payment-settings").status_code == 403
