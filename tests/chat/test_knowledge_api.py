"""The knowledge base's REST endpoints (/api/v1/chat/knowledge): CRUD, "try a question" with
its citation, the unanswered list, bad input named by field, idempotent creation, and
another workspace's ids answering 404."""

from leadflow.chat.models import KnowledgeEntry, UnansweredQuestion
from tests.chat.knowledge_helpers import run_embedding_tasks

TRIAL = {
    "title": "Is there a free trial?",
    "body": "Every plan starts with a 14-day free trial.",
    "phrasings": ["Can I try it for free?"],
    "link": "https://help.example.com/trial",
}


def test_entries_are_made_read_changed_and_deleted(api, workspace):
    made = api.post("/chat/knowledge", TRIAL)
    assert made.status_code == 201, made.content
    entry = made.json()
    assert entry["kind"] == "question" and entry["phrasings"] == TRIAL["phrasings"]
    assert api.get("/chat/knowledge").json()[0]["id"] == entry["id"]
    assert api.get("/chat/knowledge?search=14-day").json()[0]["id"] == entry["id"]
    assert api.get("/chat/knowledge?search=nothing-like-it").json() == []
    changed = api.patch(f"/chat/knowledge/{entry['id']}", {"body": "A 30-day free trial."})
    assert changed.status_code == 200 and changed.json()["body"] == "A 30-day free trial."
    assert changed.json()["title"] == TRIAL["title"]  # the fields not given stay
    assert api.delete(f"/chat/knowledge/{entry['id']}").status_code == 204
    assert api.get(f"/chat/knowledge/{entry['id']}").status_code == 404


def test_trying_a_question_answers_with_the_citation_and_counts_nothing(api, workspace):
    entry_id = api.post("/chat/knowledge", TRIAL).json()["id"]
    api.post("/chat/knowledge", {"title": "Do you ship to Canada?", "body": "Yes."})
    run_embedding_tasks()
    tried = api.post("/chat/knowledge/try", {"question": "do you have a free trial period"})
    assert tried.status_code == 200, tried.content
    body = tried.json()
    assert body["kind"] == "answer" and body["text"] == TRIAL["body"]
    assert body["citation"]["entry_id"] == entry_id
    assert body["citation"]["link"] == TRIAL["link"]
    assert body["citation"]["app_path"].endswith(f"/chat/knowledge/{entry_id}/")
    off = api.post("/chat/knowledge/try", {"question": "who wrote pride and prejudice"}).json()
    assert off["kind"] == "handover" and off["citation"] is None
    assert not UnansweredQuestion.objects.exists()


def test_the_unanswered_list_and_dismissing(api, workspace):
    from leadflow.chat.knowledge import knowledge_answer

    knowledge_answer(workspace, "Do you sell winter tyres?")
    listed = api.get("/chat/knowledge/unanswered").json()
    assert [row["question"] for row in listed] == ["Do you sell winter tyres?"]
    assert listed[0]["count"] == 1
    made = api.post(
        "/chat/knowledge",
        {"title": "Do you sell winter tyres?", "body": "No.", "unanswered_id": listed[0]["id"]},
    )
    assert made.status_code == 201
    assert api.get("/chat/knowledge/unanswered").json() == []
    knowledge_answer(workspace, "Can I pay in bitcoin?")
    row = UnansweredQuestion.objects.get()
    assert api.delete(f"/chat/knowledge/unanswered/{row.pk}").status_code == 204
    assert not UnansweredQuestion.objects.exists()


def test_bad_input_is_refused_naming_the_field(api):
    cases = [
        ({"body": "x"}, "title"),
        ({"title": "x", "body": "y", "link": "ftp://example.com"}, "link"),
        ({"title": "x", "body": "y", "kind": "faq"}, "kind"),
        ({"title": "x", "body": "y", "phrasings": "not a list"}, "phrasings"),
        ({"title": "x", "body": "y", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        refused = api.post("/chat/knowledge", body)
        assert refused.status_code == 422, (body, refused.content)
        assert field in {error["field"] for error in refused.json()["errors"]}, refused.json()
    too_long = api.post("/chat/knowledge/try", {"question": "x" * 501})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "question"
    assert not KnowledgeEntry.objects.exists()


def test_a_retried_creation_is_stored_once(api):
    headers = {"Idempotency-Key": "kb-entry-1"}
    first = api.post("/chat/knowledge", TRIAL, headers=headers)
    again = api.post("/chat/knowledge", TRIAL, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert KnowledgeEntry.objects.count() == 1


def test_another_workspaces_entries_answer_404(api, other_api):
    entry_id = api.post("/chat/knowledge", TRIAL).json()["id"]
    assert other_api.get(f"/chat/knowledge/{entry_id}").status_code == 404
    assert other_api.patch(f"/chat/knowledge/{entry_id}", {"body": "Hacked"}).status_code == 404
    assert other_api.delete(f"/chat/knowledge/{entry_id}").status_code == 404
    assert other_api.get("/chat/knowledge").json() == []
    assert KnowledgeEntry.objects.get().body == TRIAL["body"]
