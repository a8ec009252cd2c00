"""Transcript retention (``chat.services.transcripts_prune``, run by ``leadflow maintain``):
the boundaries exactly at N days, identified and anonymous visitors apart, a conversation
still talked in kept, another workspace's own policy, bounded batches, a second run that
finds nothing, the activities kept and the deleted transcript's page saying why."""

import datetime as dt
import threading
import uuid

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client

from leadflow.chat import services
from leadflow.chat.models import ChatSettings, Conversation, ConversationStatus, Message
from leadflow.contacts.models import Activity
from leadflow.core.errors import NotFound
from leadflow.core.models import AuditEntry

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
GRAPH = {
    "start": "name",
    "steps": [
        {"id": "name", "kind": "question", "text": "Your name?", "input": "text", "next": "email"},
        {"id": "email", "kind": "question", "text": "Your email?", "input": "email",
         "field": "email", "next": "bye"},
        {"id": "bye", "kind": "end", "text": "Thanks!"},
    ],
}  # fmt: skip


def publish(workspace, actor):
    flow = services.flow_create(
        workspace=workspace, actor=actor, data={"name": "Bot", "graph": GRAPH}
    )
    services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=actor)
    return flow


def say(workspace, token, text):
    return services.conversation_message_post(
        workspace=workspace, token=token, text=text, client_id=uuid.uuid4().hex
    )


@pytest.fixture
def chat(workspace, owner_actor):
    """make(email=None, idle=timedelta, closed=False): a conversation whose last activity
    was ``idle`` before NOW; with ``email`` the visitor is identified (a contact)."""
    publish(workspace, owner_actor)

    def make(*, idle: dt.timedelta, email: str | None = None, space=None, closed=False):
        space = space or workspace
        started = services.conversation_start(workspace=space, visitor_id=uuid.uuid4().hex)
        say(space, started.token, "Ann")
        if email:
            say(space, started.token, email)  # identified: the flow ends
        rows = Conversation.objects.filter(pk=started.conversation.pk)
        changes = {"last_activity_at": NOW - idle, "left_at": NOW - idle}
        if closed:
            changes["status"] = ConversationStatus.CLOSED
        rows.update(**changes)
        return rows.get()

    return make


def _left(*conversations) -> set[int]:
    ids = {conversation.pk for conversation in conversations}
    return set(Conversation.objects.filter(pk__in=ids).values_list("pk", flat=True))


def test_a_transcript_is_kept_exactly_n_days_and_deleted_after(chat):
    known_kept = chat(idle=365 * DAY, email="kept@initech.com")
    known_gone = chat(idle=365 * DAY + SECOND, email="gone@initech.com")
    anonymous_kept = chat(idle=30 * DAY)
    anonymous_gone = chat(idle=30 * DAY + SECOND)
    known_young = chat(idle=31 * DAY, email="young@initech.com")  # anonymous' days don't apply
    messages = Message.objects.filter(conversation__in=[known_gone, anonymous_gone]).count()
    assert messages == 5 + 3  # question, answer, question, answer, thanks; and the first three

    report = services.transcripts_prune(now=NOW)

    assert _left(known_kept, known_gone, anonymous_kept, anonymous_gone, known_young) == {
        known_kept.pk,
        anonymous_kept.pk,
        known_young.pk,
    }
    assert (report.conversations, report.messages, report.workspaces) == (2, messages, 1)
    assert not Message.objects.filter(conversation_id__in=[known_gone.pk, anonymous_gone.pk])
    assert Message.objects.filter(conversation=known_kept).exists()


def test_the_workspaces_own_days_count_and_another_workspace_is_untouched(
    workspace, other_workspace, owner_actor, chat
):
    ChatSettings.objects.create(workspace=workspace, retention_days=10, anonymous_retention_days=2)
    publish(other_workspace, owner_actor)
    mine = chat(idle=11 * DAY, email="ann@initech.com")
    mine_anonymous = chat(idle=3 * DAY)
    theirs = chat(idle=11 * DAY, email="ann@initech.com", space=other_workspace)
    theirs_anonymous = chat(idle=3 * DAY, space=other_workspace)  # default: 30 days

    report = services.transcripts_prune(now=NOW)

    assert report.conversations == 2 and report.workspaces == 1
    assert _left(mine, mine_anonymous, theirs, theirs_anonymous) == {
        theirs.pk,
        theirs_anonymous.pk,
    }
    assert Message.objects.filter(workspace=other_workspace).count() > 0


def test_a_conversation_still_talked_in_is_kept(workspace, chat):
    open_recent = chat(idle=5 * 60 * SECOND)  # the visitor typed five minutes ago
    assert open_recent.status == ConversationStatus.BOT
    idle_open = chat(idle=40 * DAY)  # open, but nobody wrote for 40 days: idle
    closed = chat(idle=40 * DAY, email="ann@initech.com", closed=True)
    closed_young = chat(idle=2 * DAY, email="bob@initech.com", closed=True)
    report = services.transcripts_prune(now=NOW)
    assert report.conversations == 1  # idle_open (anonymous, past 30 days)
    assert _left(open_recent, idle_open, closed, closed_young) == {
        open_recent.pk,
        closed.pk,
        closed_young.pk,
    }


def test_a_message_that_arrives_keeps_its_conversation(workspace, chat):
    """The age is read when the rows are taken (under their lock): a conversation the
    visitor came back to has a fresh last activity and is kept."""
    old = chat(idle=40 * DAY)
    Conversation.objects.filter(pk=old.pk).update(last_activity_at=NOW - SECOND)
    assert services.transcripts_prune(now=NOW).conversations == 0
    assert _left(old) == {old.pk}


@pytest.mark.django_db(transaction=True)
def test_a_conversation_whose_row_is_being_written_is_skipped(workspace, chat):
    """A message being stored holds the conversation's row lock: the run skips it (SKIP
    LOCKED) rather than wait or delete under the writer, and the next run takes it."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    busy, idle = chat(idle=40 * DAY), chat(idle=40 * DAY)
    locked, release = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        report = services.transcripts_prune(now=NOW)
    finally:
        release.set()
        thread.join(timeout=30)
    assert report.conversations == 1 and _left(busy, idle) == {busy.pk}
    assert services.transcripts_prune(now=NOW).conversations == 1
    assert _left(busy) == set()


def test_a_large_purge_runs_in_bounded_batches_and_a_second_run_finds_nothing(workspace, chat):
    old = [chat(idle=31 * DAY) for _ in range(5)]
    kept = chat(idle=DAY)
    report = services.transcripts_prune(now=NOW, batch=2)
    assert report.conversations == 5 and report.messages == 5 * 3
    assert _left(*old, kept) == {kept.pk}
    again = services.transcripts_prune(now=NOW, batch=2)
    assert (again.conversations, again.messages, again.workspaces) == (0, 0, 0)
    audit = AuditEntry.objects.get(workspace=workspace, action="chat.transcripts_deleted")
    assert audit.changes["conversations"] == 5 and audit.changes["messages"] == 15


def test_the_contacts_activities_stay_and_the_transcript_says_retention_deleted_it(
    workspace, owner, owner_actor, chat, api
):
    gone = chat(idle=400 * DAY, email="ann@initech.com")
    activities = Activity.objects.filter(workspace=workspace, data__conversation_id=gone.pk)
    kinds = set(activities.values_list("kind", flat=True))
    assert {"chat.started", "chat.answered"} <= kinds
    count = activities.count()
    services.transcripts_prune(now=NOW)
    assert activities.count() == count  # the timeline keeps them

    with pytest.raises(NotFound) as missing:
        services.conversation_by_token(workspace, services.conversation_token(gone))
    assert missing.value.code == "unknown_conversation"
    client = Client()
    client.force_login(owner)
    page = client.get(f"/w/{workspace.slug}/chat/conversations/{gone.pk}/")
    assert page.status_code == 404
    assert "deleted by the workspace&#x27;s retention policy" in page.content.decode()
    assert "365 days after the conversation" in page.content.decode()
    never = client.get(f"/w/{workspace.slug}/chat/conversations/{gone.pk + 1000}/")
    assert never.status_code == 404 and "retention" not in never.content.decode()
    answer = api.get(f"/chat/conversations/{gone.pk}")
    assert answer.status_code == 404 and answer.json()["code"] == "deleted_by_retention"


def test_the_widget_with_a_deleted_conversations_token_is_told_404(workspace, chat):
    cache.clear()
    workspace.allowed_origins = ["https://www.acme-widgets.com"]
    workspace.save()
    gone = chat(idle=40 * DAY)
    token = services.conversation_token(gone)
    services.transcripts_prune(now=NOW)
    sent = Client().post(
        "/e/chat/message",
        {"key": workspace.public_key, "token": token, "text": "hi", "client_id": "c-1234567"},
        content_type="application/json",
        headers={"Origin": "https://www.acme-widgets.com"},
    )
    assert sent.status_code == 404


def test_leadflow_maintain_reports_the_transcripts_deleted(workspace, chat, capsys):
    from leadflow.cli import main

    chat(idle=4000 * DAY)  # far past any retention, whatever today is
    assert main(["maintain"]) == 0
    out = capsys.readouterr().out
    assert "Chat transcripts past retention deleted: 1 conversations, 3 messages" in out
    assert main(["maintain"]) == 0
    assert "Chat transcripts past retention deleted: 0 conversations" in capsys.readouterr().out
