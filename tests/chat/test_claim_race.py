"""Two agents claim one waiting chat at the same moment (PostgreSQL, each on its own
connection): one takes it, the other is told 409 who has it.

To make "the same moment" certain rather than likely, a third connection holds the
conversation's row lock while both claims start; once both are waiting on it, it lets go.
A claim that read the status without the row lock (a naive read-then-write) would have
read "waiting" in both, and both would then write: two winners. This test fails then."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from leadflow.chat import services
from leadflow.chat.models import Conversation, ConversationStatus, Message
from tests.chat.test_conversations import publish
from tests.chat.test_handover import GRAPH, actor_of, to_handover

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite runs one writer at a time: there is no concurrent claim to race",
    ),
]


def _waiting_on_locks(count: int, timeout: float = 20.0) -> bool:
    """Whether ``count`` other sessions of this database wait on a lock (within timeout)."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return True
            time.sleep(0.02)
    return False


def test_two_agents_claiming_at_once_give_the_chat_one_person(workspace, owner_actor, make_member):
    publish(workspace, owner_actor, graph=GRAPH)
    agents = [make_member("admin", f"agent{n}@acme-widgets.com").user for n in (1, 2)]
    _, reply = to_handover(workspace)
    conversation_id = reply.conversation.pk
    assert reply.conversation.status == ConversationStatus.WAITING
    outcomes: dict[int, object] = {}

    def claim(user) -> None:
        try:
            services.conversation_claim(
                workspace=workspace,
                conversation_id=conversation_id,
                actor=actor_of(workspace, user),
            )
            outcomes[user.pk] = "claimed"
        except services.ConversationTaken as taken:
            outcomes[user.pk] = taken
        except BaseException as error:  # anything else fails the test below
            outcomes[user.pk] = error
        finally:
            connection.close()

    holder_ready, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update().get(pk=conversation_id)
                holder_ready.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert holder_ready.wait(10)
    threads = [threading.Thread(target=claim, args=(user,)) for user in agents]
    for thread in threads:
        thread.start()
    waiting = _waiting_on_locks(2)
    release.set()
    holder.join()
    for thread in threads:
        thread.join()
    assert waiting, "both claims should have queued on the row"

    assert sorted(str(type(o).__name__) for o in outcomes.values()) == [
        "ConversationTaken",
        "str",
    ], outcomes
    [winner] = [pk for pk, outcome in outcomes.items() if outcome == "claimed"]
    [loser] = [outcome for outcome in outcomes.values() if outcome != "claimed"]
    assert loser.status == 409
    conversation = Conversation.objects.get(pk=conversation_id)
    assert conversation.assignee_id == winner and conversation.status == "assigned"
    joined = Message.objects.filter(conversation=conversation, payload__handover="assigned")
    assert joined.count() == 1  # one "joined the chat", not two


def test_hand_overs_at_once_never_pass_an_agents_capacity(workspace, owner_actor, make_member):
    """Capacity 1, one online agent who owns both visitors' leads, two hand-overs at the same
    instant: one chat is the agent's, the other waits in the queue (the room is counted
    under the agent's presence row lock)."""
    from django.utils import timezone

    from leadflow.chat.models import AgentPresence, ChatSettings
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor

    publish(workspace, owner_actor, graph=GRAPH)
    ChatSettings.objects.create(workspace=workspace, agent_capacity=1)
    agent = make_member("sales", "agent@acme-widgets.com").user
    presence = AgentPresence.objects.create(
        workspace=workspace, user=agent, last_seen_at=timezone.now()
    )
    tokens = []
    for email in ("one@initech.com", "two@initech.com"):
        contact_upsert(
            workspace=workspace, actor=Actor.system(), data={"email": email, "owner_id": agent.pk}
        )
        started = services.conversation_start(workspace=workspace)
        services.conversation_message_post(
            workspace=workspace, token=started.token, text=email, client_id=f"mail-{email}"
        )
        tokens.append(started.token)
    errors: list[BaseException] = []

    def hand_over(token: str) -> None:
        try:
            services.conversation_handover_request(
                workspace=workspace, token=token, client_id="talk-00001"
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    holder_ready, release = threading.Event(), threading.Event()

    def hold_the_seat() -> None:
        try:
            with transaction.atomic():
                AgentPresence.objects.select_for_update().get(pk=presence.pk)
                holder_ready.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_seat)
    holder.start()
    assert holder_ready.wait(10)
    threads = [threading.Thread(target=hand_over, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    waiting = _waiting_on_locks(2)
    release.set()
    holder.join()
    for thread in threads:
        thread.join()
    assert errors == []
    assert waiting, "both hand-overs should have queued on the agent's seat"
    statuses = sorted(Conversation.objects.values_list("status", "assignee_id"))
    assert statuses == [("assigned", agent.pk), ("waiting", None)]
