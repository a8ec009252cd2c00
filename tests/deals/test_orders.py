"""Orders: placing one opens a deal with the contact and the total in the default
pipeline's first open stage and keeps the prices it was placed at; bad items are named;
paid wins the deal once; expired only ends a pending order's current checkout."""

from decimal import Decimal

import pytest

from leadflow.contacts.models import Activity, Contact
from leadflow.core.errors import ValidationFailed
from leadflow.deals import selectors, services
from leadflow.deals.models import Deal, Order

pytestmark = pytest.mark.django_db


def fields(error) -> set[str]:
    return {e.field for e in error.value.errors}


def test_an_order_opens_a_deal_with_the_contact_and_the_total(
    workspace, lead, make_product, stages
):
    kite = make_product(name="Kite", price="120.50")
    bar = make_product(name="Control bar", price="80", sku="BAR-1")
    order = services.order_place(
        workspace=workspace, contact=lead, items=[(kite.pk, 2), (bar.pk, 1)], source="chat"
    )
    assert order.total == Decimal("321.00") and order.currency == "EUR"
    assert order.status == "pending" and order.source == "chat"
    assert order.items == [
        {
            "product_id": kite.pk,
            "name": "Kite",
            "sku": "",
            "quantity": 2,
            "unit_price": "120.50",
            "amount": "241.00",
        },
        {
            "product_id": bar.pk,
            "name": "Control bar",
            "sku": "BAR-1",
            "quantity": 1,
            "unit_price": "80.00",
            "amount": "80.00",
        },
    ]
    deal = Deal.objects.get(pk=order.deal_id)
    assert deal.contact_id == lead.pk and deal.amount == Decimal("321.00")
    assert deal.currency == "EUR" and deal.stage == stages["New"]
    assert deal.title == "2 × Kite, Control bar"
    kinds = list(
        Activity.objects.filter(contact=lead).order_by("id").values_list("kind", flat=True)
    )
    assert kinds[-2:] == ["deal.created", "order.placed"]
    placed = Activity.objects.get(contact=lead, kind="order.placed")
    assert placed.data["order_id"] == order.pk and placed.data["total"] == "321.00"


def test_the_same_product_twice_is_one_line_and_later_price_changes_leave_the_order(
    workspace, owner_actor, lead, make_product
):
    kite = make_product(price="10")
    order = services.order_place(
        workspace=workspace, contact=lead, items=[(kite.pk, 1), (kite.pk, 2)]
    )
    services.product_update(
        workspace=workspace, actor=owner_actor, product_id=kite.pk, values={"price": "99"}
    )
    order.refresh_from_db()
    assert [(line["quantity"], line["unit_price"]) for line in order.items] == [(3, "10.00")]
    assert order.total == Decimal("30.00")


def test_bad_items_are_named_and_nothing_is_written(
    workspace, owner_actor, lead, make_product, other_workspace
):
    kite = make_product()
    old = make_product(name="Old kite")
    services.product_archive(workspace=workspace, actor=owner_actor, product_id=old.pk)
    dollars = make_product(name="Board", currency="USD")
    foreign = services.product_create(
        workspace=other_workspace,
        actor=owner_actor,
        values={"name": "Theirs", "price": "1", "currency": "EUR"},
    )
    cases = [
        ([], {"items"}),
        ([(kite.pk, 0)], {"items.0.quantity"}),
        ([(kite.pk, 1001)], {"items.0.quantity"}),
        ([("x", 1)], {"items.0.product_id"}),
        ([(foreign.pk, 1)], {"items.0.product_id"}),
        ([(kite.pk, 1), (old.pk, 1)], {"items.1.product_id"}),
        ([(kite.pk, 1), (dollars.pk, 1)], {"items"}),
    ]
    for items, named in cases:
        with pytest.raises(ValidationFailed) as error:
            services.order_place(workspace=workspace, contact=lead, items=items)
        assert fields(error) == named, items
    stranger = Contact.objects.create(workspace=other_workspace, email="x@other-co.com")
    with pytest.raises(ValidationFailed) as error:
        services.order_place(workspace=workspace, contact=stranger, items=[(kite.pk, 1)])
    assert fields(error) == {"contact_id"}
    assert not Order.objects.exists() and not Deal.objects.exists()


def test_paid_wins_the_deal_once_and_the_contact_becomes_a_customer(
    workspace, lead, make_product, pipeline
):
    kite = make_product(price="200")
    order = services.order_place(workspace=workspace, contact=lead, items=[(kite.pk, 1)])
    assert services.order_mark_paid(
        workspace=workspace, order_id=order.pk, provider="stripe", payment_intent_id="pi_1"
    )
    assert not services.order_mark_paid(workspace=workspace, order_id=order.pk, provider="stripe")
    order.refresh_from_db()
    deal = Deal.objects.get(pk=order.deal_id)
    assert order.status == "paid" and order.paid_at and order.payment_intent_id == "pi_1"
    assert deal.status == "won" and deal.stage.kind == "won"
    assert Activity.objects.filter(contact=lead, kind="order.paid").count() == 1
    assert Activity.objects.filter(contact=lead, kind="deal.won").count() == 1
    lead.refresh_from_db()
    assert lead.lifecycle_stage == "customer"
    closed = selectors.forecast(workspace, deal_actor(), pipeline=pipeline).closed
    assert [(row["status"], row["total"]) for row in closed] == [("won", Decimal("200.00"))]


def deal_actor():
    from leadflow.core.actors import Actor

    return Actor.system()


def test_expired_ends_only_the_pending_order_of_its_current_checkout(workspace, lead, make_product):
    kite = make_product()
    order = services.order_place(workspace=workspace, contact=lead, items=[(kite.pk, 1)])
    Order.objects.filter(pk=order.pk).update(checkout_session_id="cs_new")
    assert not services.order_mark_expired(
        workspace=workspace, order_id=order.pk, checkout_session_id="cs_old"
    )
    assert services.order_mark_expired(
        workspace=workspace, order_id=order.pk, checkout_session_id="cs_new"
    )
    order.refresh_from_db()
    assert order.status == "expired"
    assert Activity.objects.filter(contact=lead, kind="order.expired").count() == 1
