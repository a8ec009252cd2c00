"""Stripe payments: Checkout Sessions asked of a local stand-in for Stripe (real HTTP to
127.0.0.1, never the network), and the webhook with events signed here as Stripe signs
them (``t=<timestamp>,v1=<HMAC-SHA256 of "<timestamp>.<body>">``): paid only on a signed
event, 300 s tolerance, altered bodies refused, each event id acted on once (also when
two deliveries race on PostgreSQL), unknown orders logged and answered 200, a database
outage 503."""

import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.db import connection
from django.test import Client

from leadflow.contacts.models import Activity
from leadflow.core.errors import Conflict
from leadflow.core.secrets import secret_name_base
from leadflow.deals import services
from leadflow.deals.models import Deal, Order, PaymentEvent
from leadflow.deals.services.payments import ENV_PREFIX, minor_units, stripe_webhook_token

pytestmark = pytest.mark.django_db
SECRET = "whsec_test_secret"


def key_env(workspace) -> str:
    """The workspace's own variable names (core.secrets): LEADFLOW_STRIPE_W<id>_…"""
    return secret_name_base(workspace.pk, ENV_PREFIX) + "_KEY"


def webhook_env(workspace) -> str:
    return secret_name_base(workspace.pk, ENV_PREFIX) + "_WEBHOOK"


def sign(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def event(kind: str, order, *, event_id: str = "evt_1", **session) -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "data": {
            "object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "payment_status": "paid",
                "payment_intent": "pi_1",
                "client_reference_id": str(order.pk) if order else None,
                "metadata": {
                    "order_id": str(order.pk) if order else "999999",
                    "workspace_id": str(order.workspace_id) if order else "0",
                },
                **session,
            }
        },
    }
    return json.dumps(body).encode()


@pytest.fixture
def stripe_settings(workspace, owner_actor, monkeypatch):
    monkeypatch.setenv(webhook_env(workspace), SECRET)
    monkeypatch.setenv(key_env(workspace), "sk_test_123")
    return services.payment_settings_save(
        workspace=workspace,
        actor=owner_actor,
        values={
            "secret_key_env": key_env(workspace),
            "webhook_secret_env": webhook_env(workspace),
            "success_url": "https://acme-widgets.com/thanks",
        },
    )


@pytest.fixture
def order(workspace, lead, make_product, stripe_settings):
    kite = make_product(name="Kite", price="120.50")
    return services.order_place(workspace=workspace, contact=lead, items=[(kite.pk, 2)])


def post(workspace, body: bytes, signature: str | None = None, token: str | None = None):
    headers = {} if signature is None else {"Stripe-Signature": signature}
    # As Stripe posts: no session, no CSRF token (the endpoint carries no session authority).
    return Client(enforce_csrf_checks=True).post(
        f"/hooks/stripe/{token or stripe_webhook_token(workspace.pk)}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


def test_a_signed_completed_event_pays_the_order_and_wins_its_deal(workspace, order, lead):
    body = event("checkout.session.completed", order)
    response = post(workspace, body, sign(body))
    assert response.status_code == 200 and response.json()["outcome"] == "paid"
    order.refresh_from_db()
    assert order.status == "paid" and order.payment_intent_id == "pi_1"
    assert order.checkout_session_id == "cs_test_1" and order.provider == "stripe"
    assert Deal.objects.get(pk=order.deal_id).status == "won"
    assert Activity.objects.filter(contact=lead, kind="order.paid").count() == 1


def test_a_delayed_payment_is_paid_on_its_async_success_not_on_completion(workspace, order):
    body = event("checkout.session.completed", order, payment_status="unpaid")
    assert post(workspace, body, sign(body)).json()["outcome"] == "awaiting_payment"
    order.refresh_from_db()
    assert order.status == "pending"
    body = event("checkout.session.async_payment_succeeded", order, event_id="evt_2")
    assert post(workspace, body, sign(body)).json()["outcome"] == "paid"
    order.refresh_from_db()
    assert order.status == "paid"


def test_a_replayed_event_is_stored_once_and_does_nothing_more(workspace, order, lead):
    body = event("checkout.session.completed", order)
    answers = [post(workspace, body, sign(body)).json()["outcome"] for _ in range(3)]
    assert answers == ["paid", "duplicate", "duplicate"]
    assert PaymentEvent.objects.filter(workspace=workspace, event_id="evt_1").count() == 1
    assert Activity.objects.filter(contact=lead, kind="order.paid").count() == 1
    assert Activity.objects.filter(contact=lead, kind="deal.won").count() == 1


def test_a_timestamp_outside_300_seconds_is_refused(workspace, order):
    body = event("checkout.session.completed", order)
    # Well past the 300 s either side (the seconds are whole and the server reads its clock
    # a moment later: 301 s ahead may be 299.6 s ahead by then), then well inside.
    for at in (int(time.time()) - 330, int(time.time()) + 330):
        assert post(workspace, body, sign(body, at=at)).status_code == 400
    assert post(workspace, body, sign(body, at=int(time.time()) - 270)).status_code == 200


def test_an_altered_body_a_wrong_secret_or_no_signature_is_refused_and_nothing_written(
    workspace, order
):
    body = event("checkout.session.completed", order)
    altered = body.replace(b'"paid"', b'"paid" ')
    assert post(workspace, altered, sign(body)).status_code == 400
    assert post(workspace, body, sign(body, secret="whsec_other")).status_code == 400
    assert post(workspace, body).status_code == 400
    assert post(workspace, body, "t=1,v1=zz").status_code == 400
    assert post(workspace, body, "garbage").status_code == 400
    assert not PaymentEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == "pending"


def test_a_workspace_without_a_signing_secret_refuses_every_post(workspace, order, monkeypatch):
    monkeypatch.delenv(webhook_env(workspace))
    body = event("checkout.session.completed", order)
    assert post(workspace, body, sign(body)).status_code == 400
    assert not PaymentEvent.objects.exists()


def test_a_token_that_does_not_verify_answers_404(workspace, order):
    body = event("checkout.session.completed", order)
    token = stripe_webhook_token(workspace.pk)
    altered = token[:-1] + ("1" if token.endswith("0") else "0")  # never the token itself
    assert post(workspace, body, sign(body), token=altered).status_code == 404
    assert post(workspace, body, sign(body), token="nonsense").status_code == 404


def test_a_signed_body_that_is_not_an_event_answers_400_naming_the_field(workspace, order):
    for body, field in ((b"not json", "body"), (b'{"id": "evt_9"}', "type"), (b"[]", "body")):
        response = post(workspace, body, sign(body))
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == field
    body = json.dumps({"id": "evt_9", "type": "checkout.session.completed"}).encode()
    assert post(workspace, body, sign(body)).json()["errors"][0]["field"] == "data.object"


def test_an_unknown_order_is_answered_200_and_logged(workspace, order, other_workspace, caplog):
    body = event("checkout.session.completed", None)
    response = post(workspace, body, sign(body))
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_order"
    assert "names no order" in caplog.text
    # Another workspace's metadata on this workspace's webhook: not this workspace's order.
    forged = json.loads(event("checkout.session.completed", order, event_id="evt_2"))
    forged["data"]["object"]["metadata"]["workspace_id"] = str(other_workspace.pk)
    body = json.dumps(forged).encode()
    assert post(workspace, body, sign(body)).json()["outcome"] == "unknown_order"
    order.refresh_from_db()
    assert order.status == "pending"


def test_other_event_types_are_stored_and_ignored(workspace, order):
    body = event("payment_intent.created", order)
    assert post(workspace, body, sign(body)).json()["outcome"] == "ignored"
    order.refresh_from_db()
    assert order.status == "pending"


def test_an_expired_checkout_expires_the_pending_order(workspace, order, lead):
    body = event("checkout.session.expired", order, payment_status="unpaid")
    assert post(workspace, body, sign(body)).json()["outcome"] == "expired"
    order.refresh_from_db()
    assert order.status == "expired"
    assert Deal.objects.get(pk=order.deal_id).status == "open"
    assert Activity.objects.filter(contact=lead, kind="order.expired").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_answers_503(workspace, order):
    from tests.core.test_database_failure import database_down

    body = event("checkout.session.completed", order)
    signature = sign(body)
    path = f"/hooks/stripe/{stripe_webhook_token(workspace.pk)}/"
    with database_down():
        response = Client().post(
            path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
    assert response.status_code == 503 and response["Retry-After"]
    order.refresh_from_db()
    assert order.status == "pending" and not PaymentEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one writer at a time: nothing to race"
)
def test_two_deliveries_of_one_event_at_once_pay_once(workspace, order, lead):
    body = event("checkout.session.completed", order)
    signature = sign(body)
    start = threading.Barrier(2)
    answers: list = []

    def deliver() -> None:
        try:
            start.wait()
            answers.append(post(workspace, body, signature).json()["outcome"])
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["duplicate", "paid"]
    assert Activity.objects.filter(contact=lead, kind="order.paid").count() == 1
    assert Activity.objects.filter(contact=lead, kind="deal.won").count() == 1


# --- Checkout Sessions, asked of a local stand-in for Stripe -----------------------------------


class FakeStripe(BaseHTTPRequestHandler):
    requests: list = []
    answer: tuple[int, dict] = (200, {})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        FakeStripe.requests.append((self.path, dict(self.headers), form))
        status, body = FakeStripe.answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_stripe(workspace, owner_actor, stripe_settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeStripe.requests = []
    FakeStripe.answer = (
        200,
        {
            "id": "cs_test_42",
            "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_test_42",
        },
    )
    services.payment_settings_save(
        workspace=workspace,
        actor=owner_actor,
        values={
            "secret_key_env": stripe_settings.secret_key_env,
            "webhook_secret_env": stripe_settings.webhook_secret_env,
            "success_url": stripe_settings.success_url,
            "api_base": f"http://127.0.0.1:{server.server_port}",
        },
    )
    yield FakeStripe
    server.shutdown()
    server.server_close()


def test_a_checkout_session_carries_the_orders_lines_and_ids(workspace, order, fake_stripe):
    url = services.order_checkout_create(workspace=workspace, order_id=order.pk)
    assert url == "https://checkout.stripe.com/c/pay/cs_test_42"
    [(path, headers, form)] = fake_stripe.requests
    assert path == "/v1/checkout/sessions"
    assert headers["Authorization"] == "Bearer sk_test_123"
    assert headers["Idempotency-Key"].startswith(f"leadflow-order-{order.pk}-")
    assert form["mode"] == ["payment"]
    assert form["line_items[0][quantity]"] == ["2"]
    assert form["line_items[0][price_data][unit_amount]"] == ["12050"]
    assert form["line_items[0][price_data][currency]"] == ["eur"]
    assert form["line_items[0][price_data][product_data][name]"] == ["Kite"]
    assert form["metadata[order_id]"] == [str(order.pk)]
    assert form["metadata[workspace_id]"] == [str(workspace.pk)]
    assert form["payment_intent_data[metadata][order_id]"] == [str(order.pk)]
    assert form["success_url"] == ["https://acme-widgets.com/thanks"]
    assert form["customer_email"] == ["ann@initech.com"]
    order.refresh_from_db()
    # Returning to the success page is no proof: the order waits for the signed webhook.
    assert order.checkout_session_id == "cs_test_42" and order.status == "pending"


def test_stripe_refusing_the_session_is_a_conflict_and_the_order_unchanged(
    workspace, order, fake_stripe
):
    fake_stripe.answer = (400, {"error": {"type": "invalid_request_error", "message": "No"}})
    with pytest.raises(Conflict) as error:
        services.order_checkout_create(workspace=workspace, order_id=order.pk)
    assert error.value.code == "payment_provider_failed"
    order.refresh_from_db()
    assert order.checkout_session_id == ""


def test_no_secret_key_in_the_environment_is_a_conflict_before_any_call(
    workspace, order, fake_stripe, monkeypatch
):
    monkeypatch.delenv(key_env(workspace))
    with pytest.raises(Conflict) as error:
        services.order_checkout_create(workspace=workspace, order_id=order.pk)
    assert error.value.code == "payments_not_set_up" and fake_stripe.requests == []


def test_amounts_are_sent_in_the_currencys_minor_units():
    assert minor_units(Decimal("120.50"), "EUR") == 12050
    assert minor_units(Decimal("1500"), "JPY") == 1500
    assert minor_units(Decimal("1.25"), "KWD") == 1250


def test_the_settings_take_only_variable_names_and_safe_addresses(workspace, owner_actor):
    from leadflow.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as error:
        services.payment_settings_save(
            workspace=workspace,
            actor=owner_actor,
            values={
                "secret_key_env": "sk_live_abc",
                "webhook_secret_env": "HOME",
                "api_base": "http://stripe.example.com",
                "success_url": "javascript:alert(1)",
                "colour": "red",
            },
        )
    assert {e.field for e in error.value.errors} == {
        "secret_key_env",
        "webhook_secret_env",
        "api_base",
        "success_url",
        "colour",
    }
    assert not Order.objects.exists()
