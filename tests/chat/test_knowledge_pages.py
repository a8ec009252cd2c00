"""The knowledge base's app pages: list and search, add, edit and delete an entry, try a
question (answer with its citation), the unanswered list with its one-click "add to the
knowledge base" (the form prefilled, the question gone once answered), roles (a viewer
reads, a marketer changes), another workspace's ids 404, refused input 422 beside its
field, and CSRF on every change."""

import pytest
from django.test import Client

from leadflow.chat import knowledge
from leadflow.chat.models import KnowledgeEntry, UnansweredQuestion
from tests.chat.knowledge_helpers import run_embedding_tasks


@pytest.fixture
def member(make_member):
    def login(role):
        client = Client()
        client.force_login(make_member(role).user)
        return client

    return login


def url(workspace, path=""):
    return f"/w/{workspace.slug}/chat/knowledge/{path}"


@pytest.fixture
def entry(workspace, owner_actor):
    return knowledge.entry_create(
        workspace=workspace,
        actor=owner_actor,
        data={
            "title": "Is there a free trial?",
            "body": "Every plan starts with a 14-day free trial.",
            "link": "https://help.example.com/trial",
        },
    )


def test_a_marketer_adds_edits_and_deletes_an_entry(workspace, member):
    marketer = member("marketer")
    form = marketer.get(url(workspace, "new/"))
    assert form.status_code == 200 and b"Other ways to ask it" in form.content
    saved = marketer.post(
        url(workspace, "new/"),
        {
            "kind": "question",
            "title": "Do you ship to Canada?",
            "phrasings": "Delivery to Canada\n\nShipping to Toronto",
            "body": "Yes, in 5 to 7 days.",
        },
    )
    assert saved.status_code == 302
    entry = KnowledgeEntry.objects.get(workspace=workspace)
    assert entry.phrasings == ["Delivery to Canada", "Shipping to Toronto"]
    listed = marketer.get(url(workspace))
    assert b"Do you ship to Canada?" in listed.content
    assert b"Do you ship" not in marketer.get(url(workspace) + "?q=refund").content
    changed = marketer.post(
        url(workspace, f"{entry.pk}/"),
        {"kind": "question", "title": "Do you ship to Canada?", "body": "Yes, in 3 days."},
    )
    assert changed.status_code == 302
    entry.refresh_from_db()
    assert entry.body == "Yes, in 3 days." and entry.phrasings == []
    assert marketer.post(url(workspace, f"{entry.pk}/delete/")).status_code == 302
    assert not KnowledgeEntry.objects.exists()


def test_refused_input_is_shown_beside_its_field(workspace, member):
    marketer = member("marketer")
    refused = marketer.post(
        url(workspace, "new/"),
        {"kind": "question", "title": "", "body": "Yes.", "link": "javascript:alert(1)"},
    )
    assert refused.status_code == 422
    assert b'id="id_title_error"' in refused.content or b"Required." in refused.content
    assert b"An http:// or https:// address." in refused.content
    assert not KnowledgeEntry.objects.exists()


def test_trying_a_question_shows_the_answer_and_its_source(workspace, member, entry):
    run_embedding_tasks()
    viewer = member("viewer")
    tried = viewer.post(url(workspace), {"question": "do you have a free trial period"})
    assert tried.status_code == 200
    assert b"Every plan starts with a 14-day free trial." in tried.content
    assert f'href="/w/{workspace.slug}/chat/knowledge/{entry.pk}/"'.encode() in tried.content
    assert b"https://help.example.com/trial" in tried.content
    assert not UnansweredQuestion.objects.exists()  # trying is not asking


def test_an_unanswered_question_becomes_an_entry_in_one_click(workspace, member, entry):
    knowledge.knowledge_answer(workspace, "Do you sell winter tyres?")
    knowledge.knowledge_answer(workspace, "do you sell winter tyres?")
    row = UnansweredQuestion.objects.get()
    marketer = member("marketer")
    listed = marketer.get(url(workspace, "unanswered/"))
    assert listed.status_code == 200 and b"do you sell winter tyres?" in listed.content
    link = f"/w/{workspace.slug}/chat/knowledge/new/?from={row.pk}"
    assert link.encode() in listed.content
    prefilled = marketer.get(link)
    assert b'value="do you sell winter tyres?"' in prefilled.content
    assert f'name="from" value="{row.pk}"'.encode() in prefilled.content
    saved = marketer.post(
        url(workspace, "new/"),
        {"from": row.pk, "kind": "question", "title": row.question, "body": "No."},
    )
    assert saved.status_code == 302
    assert not UnansweredQuestion.objects.exists()
    assert b"Nothing unanswered" in marketer.get(url(workspace, "unanswered/")).content


def test_a_viewer_reads_but_changes_nothing(workspace, member, entry):
    knowledge.knowledge_answer(workspace, "Can I pay in bitcoin?")
    row = UnansweredQuestion.objects.get()
    viewer = member("viewer")
    assert viewer.get(url(workspace)).status_code == 200
    assert viewer.get(url(workspace, f"{entry.pk}/")).status_code == 200
    assert viewer.get(url(workspace, "unanswered/")).status_code == 200
    assert viewer.get(url(workspace, "new/")).status_code == 403
    changed = viewer.post(url(workspace, f"{entry.pk}/"), {"title": "x", "body": "y"})
    assert changed.status_code == 403
    assert viewer.post(url(workspace, f"{entry.pk}/delete/")).status_code == 403
    assert viewer.post(url(workspace, f"unanswered/{row.pk}/dismiss/")).status_code == 403
    assert KnowledgeEntry.objects.get().title == "Is there a free trial?"
    assert UnansweredQuestion.objects.exists()


def test_another_workspaces_ids_answer_404(workspace, other_workspace, entry, member):
    knowledge.knowledge_answer(workspace, "Can I pay in bitcoin?")
    row = UnansweredQuestion.objects.get()
    stranger = Client()
    from leadflow.core.models import Membership

    stranger.force_login(Membership.objects.get(workspace=other_workspace).user)
    assert stranger.get(url(other_workspace, f"{entry.pk}/")).status_code == 404
    assert stranger.post(url(other_workspace, f"{entry.pk}/delete/")).status_code == 404
    assert stranger.post(url(other_workspace, f"unanswered/{row.pk}/dismiss/")).status_code == 404
    assert stranger.get(url(other_workspace, f"new/?from={row.pk}")).status_code == 404
    assert stranger.get(url(workspace)).status_code == 404  # not a member there
    assert KnowledgeEntry.objects.filter(pk=entry.pk).exists()


def test_changes_need_the_csrf_token(workspace, make_member, entry):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_member("marketer").user)
    refused = client.post(url(workspace, f"{entry.pk}/delete/"))
    assert refused.status_code == 403
    assert KnowledgeEntry.objects.filter(pk=entry.pk).exists()
    page = client.get(url(workspace, f"{entry.pk}/"))
    token = page.cookies["csrftoken"].value
    deleted = client.post(url(workspace, f"{entry.pk}/delete/"), {"csrfmiddlewaretoken": token})
    assert deleted.status_code == 302
    assert not KnowledgeEntry.objects.exists()
