"""The product and meeting steps through the services, on both databases: Buy places one
order (a deal with the contact and the amount) however often it is sent, the worker opens
the checkout (a local stand-in for Stripe: real HTTP to 127.0.0.1, never the network) and
says its page once, the signed webhook's ``order.paid`` reaches the conversation ("Payment
received", the flow runs on) once; free times come from the member's working hours and
skip their follow-ups, a booking writes the meeting follow-up and the timeline entry, the
confirmation email (real SMTP, aiosmtpd) carries the .ics once, and of two visitors taking
one time one gets it and the other is offered the rest (at once, on PostgreSQL)."""

import datetime as dt
import threading
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from leadflow.chat import services
from leadflow.chat.models import ChatMeeting, ChatOrder, Conversation, Message
from leadflow.chat.slots import slot_value
from leadflow.chat.tasks import conversation_checkout_task, meeting_confirmation_task
from leadflow.contacts.activity_log import activities_deliver
from leadflow.contacts.models import Activity
from leadflow.deals.models import Deal, Order
from leadflow.sales.models import FollowUp
from leadflow.sales.services import followup_create, team_create, team_member_add
from tests.capture.test_notifications import smtp  # noqa: F401
from tests.chat.knowledge_helpers import run_queued
from tests.chat.test_steps_engine import EMAIL as ENGINE_EMAIL
from tests.deals.conftest import make_product  # noqa: F401
from tests.deals.test_payments import event, fake_stripe, post, sign, stripe_settings  # noqa: F401

pytestmark = pytest.mark.django_db
SITE = "https://www.acme-widgets.com"
EMAIL = {**ENGINE_EMAIL, "next": "offer"}


def shop_graph(product_id: int, member_id: int) -> dict:
    return {
        "start": "email",
        "steps": [
            EMAIL,
            {"id": "offer", "kind": "product", "product": product_id, "text": "Our best kite",
             "next": "bye", "paid": "meet"},
            {"id": "meet", "kind": "meeting", "member": member_id, "duration": 30, "days": 7,
             "next": "bye"},
            {"id": "bye", "kind": "end", "text": "Thanks!"},
        ],
    }  # fmt: skip


def meeting_graph(member_id: int) -> dict:
    steps = shop_graph(1, member_id)["steps"]
    return {"start": "email", "steps": [{**EMAIL, "next": "meet"}, steps[2], steps[3]]}


def publish(workspace, actor, graph):
    flow = services.flow_create(
        workspace=workspace, actor=actor, data={"name": "Shop bot", "graph": graph}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=actor)
    return flow


def say(workspace, token, text, client_id=None):
    return services.conversation_message_post(
        workspace=workspace, token=token, text=text, client_id=client_id or uuid.uuid4().hex
    )


def start(workspace, flow, email="ann@initech.com"):
    started = services.conversation_start(workspace=workspace, page_url=SITE, flow_id=flow.pk)
    return started.token, say(workspace, started.token, email)


def deliver(workspace) -> None:
    while activities_deliver(workspace_id=workspace.pk).behind:
        pass


@pytest.fixture
def kite(make_product):  # noqa: F811
    return make_product(name="Kite", price="120.50", description="A kite for strong winds")


@pytest.fixture
def berlin_member(workspace, owner_actor, owner):
    """The owner in a team, working 09:00-17:00 every day in Berlin."""
    team = team_create(workspace=workspace, name="Sales", actor=owner_actor)
    hours = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    team_member_add(
        workspace=workspace,
        team_id=team.pk,
        user_id=owner.pk,
        actor=owner_actor,
        settings={"working_hours": hours, "time_zone": "Europe/Berlin"},
    )
    return owner


# --- the product step ---------------------------------------------------------------------


def test_the_product_is_shown_with_its_details_and_two_choices(workspace, owner_actor, owner, kite):
    flow = publish(workspace, owner_actor, shop_graph(kite.pk, owner.pk))
    _, reply = start(workspace, flow)
    shown = reply.messages[-1]
    assert shown.text == "Our best kite"
    assert shown.payload["product"] == {
        "id": kite.pk,
        "name": "Kite",
        "price": "120.50",
        "currency": "EUR",
        "description": "A kite for strong winds",
    }
    assert shown.payload["choices"] == [
        {"value": "buy", "label": "Buy"},
        {"value": "no", "label": "No thanks"},
    ]


def test_buy_places_one_order_the_worker_says_the_checkout_once_and_the_webhook_pays_it(
    workspace,
    owner_actor,
    owner,
    kite,
    fake_stripe,  # noqa: F811
):
    flow = publish(workspace, owner_actor, shop_graph(kite.pk, owner.pk))
    token, reply = start(workspace, flow)
    conversation = reply.conversation
    buy = say(workspace, token, "Buy", client_id="buy-000001")
    assert say(workspace, token, "Buy", client_id="buy-000001").replayed  # a retry
    say(workspace, token, "buy")  # a second Buy: the bot waits for the checkout
    order = Order.objects.get(workspace=workspace)
    assert order.source == "chat" and order.total == kite.price and order.status == "pending"
    deal = Deal.objects.get(pk=order.deal_id)
    assert deal.contact_id == conversation.contact_id and deal.amount == kite.price
    assert ChatOrder.objects.get().conversation_id == conversation.pk
    assert [m.author for m in buy.messages] == ["visitor"]  # the page comes from the worker

    assert run_queued(conversation_checkout_task) == 1
    assert len(fake_stripe.requests) == 1
    said = Message.objects.filter(conversation=conversation, payload__has_key="order")
    assert said.count() == 1
    assert said.get().payload["order"] == {
        "id": order.pk,
        "amount": "120.50",
        "currency": "EUR",
        "checkout_url": "https://checkout.stripe.com/c/pay/cs_test_42",
    }
    # A retried task says nothing more (and asks Stripe nothing more).
    assert (
        services.conversation_checkout(conversation_id=conversation.pk, order_id=order.pk) is False
    )
    assert said.count() == 1 and len(fake_stripe.requests) == 1

    body = event("checkout.session.completed", order)
    assert post(workspace, body, sign(body)).json()["outcome"] == "paid"
    assert post(workspace, body, sign(body)).json()["outcome"] == "duplicate"
    deliver(workspace)
    texts = list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("text", flat=True)
    )
    assert texts.count("Payment received") == 1
    assert texts[texts.index("Payment received") + 1] == "Pick a time that suits you:"  # paid
    assert Deal.objects.get(pk=order.deal_id).status == "won"
    # The subscriber seeing the batch again (after a crash) changes nothing.
    services.activities_order_paid(list(Activity.objects.filter(kind="order.paid")))
    assert Message.objects.filter(conversation=conversation, text="Payment received").count() == 1


def test_a_payment_after_the_visitor_asked_for_a_person_is_said_once_and_the_bot_stays_off(
    workspace,
    owner_actor,
    owner,
    kite,
    fake_stripe,  # noqa: F811
):
    flow = publish(workspace, owner_actor, shop_graph(kite.pk, owner.pk))
    token, reply = start(workspace, flow)
    conversation = reply.conversation
    say(workspace, token, "Buy")
    assert run_queued(conversation_checkout_task) == 1
    order = Order.objects.get(workspace=workspace)
    services.conversation_handover_request(workspace=workspace, token=token, client_id="hand-0001")
    assert Conversation.objects.get(pk=conversation.pk).status == "waiting"

    body = event("checkout.session.completed", order)
    assert post(workspace, body, sign(body)).json()["outcome"] == "paid"
    deliver(workspace)
    notice = Message.objects.filter(conversation=conversation, payload__order_paid=order.pk)
    assert notice.count() == 1
    assert (
        notice.get().author == "system"
        and notice.get().text == f"Payment received: order {order.pk}."
    )
    assert Deal.objects.get(pk=order.deal_id).status == "won"
    conversation.refresh_from_db()
    assert conversation.status == "waiting"  # the person goes on; the bot does not
    assert not Message.objects.filter(conversation=conversation, text="Pick a time that suits you:")
    # Seen again (a crash between delivery and its mark): still once.
    services.activities_order_paid(list(Activity.objects.filter(kind="order.paid")))
    assert notice.count() == 1


def test_no_thanks_orders_nothing_and_payments_not_set_up_say_so_and_go_on(
    workspace, owner_actor, owner, kite
):
    flow = publish(workspace, owner_actor, shop_graph(kite.pk, owner.pk))
    token, _ = start(workspace, flow)
    assert say(workspace, token, "No thanks").messages[-1].text == "Thanks!"
    assert not Order.objects.exists()
    token, _ = start(workspace, flow, email="bo@initech.com")
    say(workspace, token, "1")
    run_queued(conversation_checkout_task)  # no Stripe key in this workspace
    last = Message.objects.filter(conversation__contact__email="bo@initech.com").order_by("-seq")
    assert [m.text for m in last[:2]][::-1] == [
        "Sorry, we could not open the payment page. Please try again later.",
        "Thanks!",
    ]


def test_an_archived_product_is_not_offered(workspace, owner_actor, owner, kite):
    flow = publish(workspace, owner_actor, shop_graph(kite.pk, owner.pk))
    kite.active = False
    kite.save()
    _, reply = start(workspace, flow)
    assert [m.text for m in reply.messages[-2:]] == [
        "Sorry, this product is not available any more.",
        "Thanks!",
    ]


def test_the_flow_checks_name_a_product_or_member_not_of_this_workspace(
    workspace, owner_actor, owner, other_workspace
):
    from leadflow.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as failure:
        publish(workspace, owner_actor, shop_graph(999999, 999999))
    fields = {error.field: error.message for error in failure.value.errors}
    assert fields["graph.steps[1].product"] == "Step offer: not an offered product here."
    assert fields["graph.steps[2].member"] == "Step meet: not a member who may own leads here."


# --- the meeting step ---------------------------------------------------------------------


def offered(reply) -> list[dict]:
    return reply.messages[-1].payload["slots"]


def test_free_times_come_from_the_members_hours_and_skip_their_follow_ups(
    workspace, owner_actor, berlin_member
):
    flow = publish(workspace, owner_actor, meeting_graph(berlin_member.pk))
    _, reply = start(workspace, flow)
    slots = offered(reply)
    assert len(slots) == 8 and reply.messages[-1].payload["choices"] == slots
    berlin = ZoneInfo("Europe/Berlin")
    now = timezone.now()
    for slot in slots:
        moment = dt.datetime.fromisoformat(slot["value"].replace("Z", "+00:00"))
        local = moment.astimezone(berlin)
        assert dt.time(9) <= local.time() <= dt.time(16, 30) and moment >= now
        assert slot["label"].endswith("(Europe/Berlin)") and f"{local:%H:%M}" in slot["label"]
    first = slots[0]["value"]
    # A call already planned at the first time: it is not offered to the next visitor.
    contact = reply.conversation.contact
    followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={
            "title": "Call",
            "due_at": first.replace("Z", "+00:00"),
            "assignee_id": berlin_member.pk,
        },
        actor=owner_actor,
    )
    _, again = start(workspace, flow, email="bo@initech.com")
    assert first not in [slot["value"] for slot in offered(again)]


def test_a_booking_writes_the_follow_up_and_timeline_and_emails_an_ics_once(
    workspace,
    owner_actor,
    berlin_member,
    smtp,  # noqa: F811
):
    flow = publish(workspace, owner_actor, meeting_graph(berlin_member.pk))
    token, reply = start(workspace, flow)
    slot = offered(reply)[1]
    booked = say(workspace, token, slot["label"])
    assert booked.messages[1].text.startswith(f"Booked: {slot['label']}.")
    assert booked.messages[-1].text == "Thanks!"
    meeting = ChatMeeting.objects.get()
    assert slot_value(meeting.starts_at) == slot["value"]
    assert meeting.ends_at - meeting.starts_at == dt.timedelta(minutes=30)
    followup = FollowUp.objects.get(pk=meeting.followup_id)
    assert followup.kind == "meeting" and followup.assignee_id == berlin_member.pk
    assert followup.due_at == meeting.starts_at
    contact = reply.conversation.contact
    kinds = set(Activity.objects.filter(contact=contact).values_list("kind", flat=True))
    assert {"chat.meeting_booked", "followup.scheduled"} <= kinds

    assert run_queued(meeting_confirmation_task) == 1
    assert services.meeting_confirmation_send(meeting_id=meeting.pk) == 0  # once
    (mail,) = smtp.to("ann@initech.com")
    (invite,) = [part for part in mail.iter_attachments() if part.get_filename() == "invite.ics"]
    calendar = invite.get_content()
    calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
    assert f"DTSTART:{meeting.starts_at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}" in calendar
    assert "ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:ann@initech.com" in calendar
    assert mail["Reply-To"] == berlin_member.email


def test_a_time_taken_by_another_visitor_is_refused_and_the_rest_offered(
    workspace, owner_actor, berlin_member
):
    flow = publish(workspace, owner_actor, meeting_graph(berlin_member.pk))
    ann_token, ann = start(workspace, flow)
    bo_token, bo = start(workspace, flow, email="bo@initech.com")
    first = offered(ann)[0]
    assert offered(bo)[0] == first
    say(workspace, ann_token, "1")
    refused = say(workspace, bo_token, "1")
    assert (
        refused.messages[-1].text == "Sorry, that time was just taken. These times are still free:"
    )
    assert first["value"] not in [slot["value"] for slot in offered(refused)]
    assert ChatMeeting.objects.count() == 1
    say(workspace, bo_token, "1")  # the next free time
    assert ChatMeeting.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one writer at a time: nothing to race"
)
def test_two_visitors_taking_one_time_at_once_book_it_once(workspace, owner_actor, berlin_member):
    flow = publish(workspace, owner_actor, meeting_graph(berlin_member.pk))
    tokens = [start(workspace, flow, email=f"p{i}@initech.com")[0] for i in range(2)]
    barrier = threading.Barrier(2)
    answers: list = []

    def take(token):
        try:
            barrier.wait()
            answers.append(say(workspace, token, "1").messages[-1].text)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ChatMeeting.objects.count() == 1
    assert sorted(answers) == [
        "Sorry, that time was just taken. These times are still free:",
        "Thanks!",
    ]
    assert FollowUp.objects.filter(kind="meeting").count() == 1
    assert Conversation.objects.filter(current_step="meet").count() == 1
