"""Settings → Products: add, edit, archive and restore a product, the Stripe settings,
refused input beside its input (422), read-only for roles without manage_settings (403
on a change), another workspace's product 404, CSRF checked, a pinned query count."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadflow.core.secrets import secret_name_base
from leadflow.deals import services
from leadflow.deals.models import PaymentSettings, Product
from leadflow.deals.services.payments import ENV_PREFIX

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(owner):
    client = Client()
    client.force_login(owner)
    return client


def url(workspace, path=""):
    return f"/w/{workspace.slug}/settings/products/{path}"


def test_an_owner_adds_edits_archives_and_restores_a_product(client, workspace):
    added = client.post(
        url(workspace), {"name": "Kite <b>", "price": "120.5", "currency": "eur", "sku": "K-1"}
    )
    assert added.status_code == 302
    product = Product.objects.get(workspace=workspace)
    assert (str(product.price), product.currency) == ("120.50", "EUR")
    page = client.get(url(workspace)).content.decode()
    assert "Kite &lt;b&gt;" in page and "120.50 EUR" in page
    edited = client.post(
        url(workspace, f"{product.pk}/"),
        {"name": "Kite", "price": "99", "currency": "EUR", "sku": "K-1", "description": "Big"},
    )
    assert edited.status_code == 302
    product.refresh_from_db()
    assert (product.name, str(product.price), product.description) == ("Kite", "99.00", "Big")
    client.post(url(workspace, f"{product.pk}/archive/"), {"archived": "1"})
    product.refresh_from_db()
    assert product.active is False
    assert 'id="archived-products"' in client.get(url(workspace)).content.decode()
    client.post(url(workspace, f"{product.pk}/archive/"), {"archived": "0"})
    product.refresh_from_db()
    assert product.active is True


def test_refused_input_comes_back_beside_its_input_with_what_was_typed(client, workspace):
    response = client.post(url(workspace), {"name": "Kite", "price": "cheap", "currency": "EUR"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'value="cheap"' in page and 'id="id_price_error"' in page
    assert not Product.objects.exists()
    response = client.post(
        url(workspace, "payments/"), {"secret_key_env": "sk_live_123", "success_url": "ftp://x"}
    )
    assert response.status_code == 422
    assert "id_secret_key_env_error" in response.content.decode()
    assert not PaymentSettings.objects.exists()


def test_the_stripe_settings_keep_names_and_show_the_webhook_address(
    client, workspace, owner_actor, monkeypatch
):
    base = secret_name_base(workspace.pk, ENV_PREFIX)
    monkeypatch.setenv(base + "_KEY", "sk_test_shh")
    services.payment_settings_save(
        workspace=workspace, actor=owner_actor, values={"api_base": "http://127.0.0.1:9"}
    )
    response = client.post(
        url(workspace, "payments/"),
        {
            "secret_key_env": base + "_KEY",
            "webhook_secret_env": base + "_HOOK",
            "success_url": "https://acme-widgets.com/thanks",
        },
    )
    assert response.status_code == 302
    page = client.get(url(workspace)).content.decode()
    assert "Secret key found" in page and "Signing secret not set" in page
    assert "/hooks/stripe/" in page and "sk_test_shh" not in page
    # Stripe's address is not on the page: saving the page keeps the one the API set.
    assert PaymentSettings.objects.get(workspace=workspace).api_base == "http://127.0.0.1:9"


@pytest.mark.parametrize("role", ["marketer", "sales", "viewer"])
def test_other_roles_read_the_page_but_may_not_change_it(role, workspace, owner_actor, make_member):
    product = services.product_create(
        workspace=workspace, actor=owner_actor, values={"name": "Kite", "price": "1"}
    )
    client = Client()
    client.force_login(make_member(role).user)
    page = client.get(url(workspace))
    assert page.status_code == 200 and "Add product" not in page.content.decode()
    assert client.get(url(workspace, f"{product.pk}/")).status_code == 200
    assert client.post(url(workspace), {"name": "New", "price": "1"}).status_code == 403
    assert client.post(url(workspace, f"{product.pk}/archive/")).status_code == 403
    assert client.post(url(workspace, "payments/"), {}).status_code == 403
    assert Product.objects.get(pk=product.pk).active is True
    assert Product.objects.count() == 1


def test_another_workspaces_product_answers_404(client, workspace, other_workspace, owner_actor):
    theirs = services.product_create(
        workspace=other_workspace, actor=owner_actor, values={"name": "Theirs", "price": "1"}
    )
    assert client.get(url(workspace, f"{theirs.pk}/")).status_code == 404
    assert client.post(url(workspace, f"{theirs.pk}/archive/")).status_code == 404
    assert Product.objects.get(pk=theirs.pk).active is True


def test_a_post_without_the_csrf_token_is_refused(owner, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(url(workspace), {"name": "Kite", "price": "1"}).status_code == 403
    assert not Product.objects.exists()


def test_the_list_takes_a_fixed_number_of_queries(client, workspace, owner_actor):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(workspace)).status_code == 200
        return len(queries)

    services.product_create(
        workspace=workspace, actor=owner_actor, values={"name": "A", "price": "1"}
    )
    few = count()
    for index in range(10):
        services.product_create(
            workspace=workspace, actor=owner_actor, values={"name": f"P{index}", "price": "1"}
        )
    assert count() == few
