"""The knowledge base's services: entries and their passages, embeddings computed by the
worker's task, the three bands of the answer (answer with its citation, three suggestions,
hand-over), the BM25 fallback without the model, the per-process index following the
version counter, the unanswered list, and workspace scoping."""

import numpy as np
import pytest

from leadflow.chat import knowledge, knowledge_index
from leadflow.chat.knowledge_model import MODEL_ID, embedder, vector_from
from leadflow.chat.models import KnowledgeIndex, KnowledgePassage, UnansweredQuestion
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import Membership
from tests.chat.knowledge_helpers import run_embedding_tasks

TRIAL = {
    "title": "Is there a free trial?",
    "body": "Every plan starts with a 14-day free trial; no card is needed.",
    "phrasings": ["Can I try it for free?"],
}
PASSWORDS = [
    ("How do I reset my password?", "Use “Forgot password” on the sign-in page."),
    ("How do I change my password?", "Profile → Security → Change password."),
    ("Can I change my email address?", "Profile → Account → Email."),
]


@pytest.fixture
def add(workspace, owner_actor):
    def make(title, body, **data):
        return knowledge.entry_create(
            workspace=workspace, actor=owner_actor, data={"title": title, "body": body, **data}
        )

    return make


def test_the_model_ships_in_a_package_and_gives_normalised_vectors():
    model = embedder()
    assert model is not None and model.model_id == MODEL_ID
    near = model.embed_many(["How much does it cost?", "What is the price?", "Is it raining?"])
    assert near.shape == (3, 384) and near.dtype == np.float32
    assert np.allclose(np.linalg.norm(near, axis=1), 1.0, atol=1e-5)
    assert near[0] @ near[1] > near[0] @ near[2] + 0.2


def test_a_question_entry_is_searched_by_its_phrasings_and_answer_embedded_by_the_task(
    workspace, add
):
    entry = add(TRIAL["title"], TRIAL["body"], phrasings=TRIAL["phrasings"])
    passages = list(KnowledgePassage.objects.filter(entry=entry).order_by("position"))
    assert [p.text for p in passages] == [TRIAL["title"], *TRIAL["phrasings"], TRIAL["body"]]
    assert [p.is_answer for p in passages] == [False, False, True]
    assert all(p.vector is None for p in passages)
    version = KnowledgeIndex.objects.get(workspace=workspace).version

    assert run_embedding_tasks() == 1
    for passage in KnowledgePassage.objects.filter(entry=entry):
        assert passage.model == MODEL_ID
        assert np.isclose(np.linalg.norm(vector_from(passage.vector)), 1.0, atol=1e-5)
    assert KnowledgeIndex.objects.get(workspace=workspace).version == version + 1
    assert knowledge.knowledge_embed(entry_id=entry.pk) == 0  # a second run finds nothing


def test_an_answer_cites_its_entry(workspace, add):
    entry = add(TRIAL["title"], TRIAL["body"], link="https://help.example.com/trial")
    add("Do you ship to Canada?", "Yes, in 5 to 7 days.")
    run_embedding_tasks()
    answer = knowledge.knowledge_answer(workspace, "do you have a free trial period")
    assert answer.kind == "answer" and answer.ranking == MODEL_ID
    assert answer.entry == entry and answer.text == TRIAL["body"]
    assert answer.citation.entry_id == entry.pk and answer.citation.title == TRIAL["title"]
    assert answer.citation.link == "https://help.example.com/trial"
    assert answer.citation.app_path == f"/w/{workspace.slug}/chat/knowledge/{entry.pk}/"
    assert not UnansweredQuestion.objects.exists()


def test_an_article_answers_with_the_passage_that_matched(workspace, add):
    article = add(
        "Shipping and returns",
        "We ship to every EU country within three working days.\n\n"
        "Returns are free within 30 days: print the label from your order page.",
        kind="article",
    )
    run_embedding_tasks()
    answer = knowledge.knowledge_answer(workspace, "how many days do I have to return an item")
    assert answer.kind == "answer" and answer.entry == article
    assert answer.text.startswith("Returns are free within 30 days")


def test_close_entries_give_three_suggestions_and_off_topic_hands_over(workspace, add):
    entries = [add(title, body) for title, body in PASSWORDS]
    run_embedding_tasks()
    unsure = knowledge.knowledge_answer(workspace, "password")
    assert unsure.kind == "suggest" and unsure.entry is None
    assert len(unsure.suggestions) == 3
    assert {s.entry_id for s in unsure.suggestions} == {e.pk for e in entries}
    assert [s.score for s in unsure.suggestions] == sorted(
        (s.score for s in unsure.suggestions), reverse=True
    )
    outside = knowledge.knowledge_answer(workspace, "what is the capital of australia")
    assert outside.kind == "handover" and outside.suggestions == []
    assert outside.score < knowledge.THRESHOLDS[MODEL_ID].suggest
    picked = knowledge.knowledge_entry_answer(workspace, unsure.suggestions[0].entry_id)
    assert picked.kind == "answer" and picked.citation.entry_id == unsure.suggestions[0].entry_id


def test_questions_not_answered_are_counted_for_the_marketer(workspace, add, owner_actor):
    add(*PASSWORDS[0])
    run_embedding_tasks()
    for _ in range(2):
        knowledge.knowledge_answer(workspace, "Do you sell   winter tyres?")
    knowledge.knowledge_answer(workspace, "do you sell winter tyres?", record=False)
    knowledge.knowledge_answer(workspace, "how do I reset my password")  # answered
    row = UnansweredQuestion.objects.get(workspace=workspace)
    assert row.key == "do you sell winter tyres?" and row.count == 2
    assert row.best_score < knowledge.THRESHOLDS[MODEL_ID].answer
    assert list(knowledge.unanswered_list(workspace)) == [row]

    knowledge.entry_create(
        workspace=workspace,
        actor=owner_actor,
        data={"title": row.question, "body": "No, only summer tyres."},
        unanswered_id=row.pk,
    )
    assert not UnansweredQuestion.objects.exists()


def test_without_the_model_it_ranks_with_bm25_alone(workspace, add, settings):
    settings.LEADFLOW_KNOWLEDGE_MODEL = "off"
    assert embedder() is None
    entry = add("How do I reset my password?", "Use “Forgot password” on the sign-in page.")
    add("Do you ship to Canada?", "Yes, in 5 to 7 days.")
    assert run_embedding_tasks() == 2  # the task runs and embeds nothing
    assert not KnowledgePassage.objects.exclude(vector=None).exists()
    answer = knowledge.knowledge_answer(workspace, "I forgot my password, how to reset it")
    assert answer.kind == "answer" and answer.ranking == "bm25" and answer.entry == entry
    outside = knowledge.knowledge_answer(workspace, "what is the capital of australia")
    assert outside.kind == "handover" and outside.ranking == "bm25"


def test_entries_not_embedded_yet_are_found_by_their_words(workspace, add):
    entry = add("How do I reset my password?", "Use “Forgot password” on the sign-in page.")
    add("Do you ship to Canada?", "Yes, in 5 to 7 days.")
    answer = knowledge.knowledge_answer(workspace, "reset password")
    assert answer.ranking == "bm25" and answer.kind == "answer" and answer.entry == entry


def test_the_index_in_this_process_follows_each_change(workspace, add, owner_actor):
    entry = add("Do you ship to Canada?", "Yes, in 5 to 7 days.")
    run_embedding_tasks()
    first = knowledge_index.index_for(workspace, MODEL_ID)
    assert knowledge_index.index_for(workspace, MODEL_ID) is first  # cached
    assert knowledge.knowledge_answer(workspace, "delivery to canada").kind == "answer"
    knowledge.entry_update(
        workspace=workspace,
        entry_id=entry.pk,
        actor=owner_actor,
        data={"title": "Do you ship to Mexico?", "body": "Yes, in 10 days."},
    )
    run_embedding_tasks()
    assert knowledge_index.index_for(workspace, MODEL_ID) is not first
    assert knowledge.knowledge_answer(workspace, "delivery to mexico").entry == entry
    knowledge.entry_delete(workspace=workspace, entry_id=entry.pk, actor=owner_actor)
    assert knowledge.knowledge_answer(workspace, "delivery to mexico").kind == "handover"


def test_another_workspace_never_sees_the_entries(workspace, other_workspace, add):
    entry = add(TRIAL["title"], TRIAL["body"])
    run_embedding_tasks()
    other_actor = Actor.for_user(Membership.objects.get(workspace=other_workspace).user)
    answer = knowledge.knowledge_answer(other_workspace, "is there a free trial")
    assert answer.kind == "handover" and answer.score == 0.0
    with pytest.raises(NotFound):
        knowledge.entry_get(other_workspace, entry.pk)
    with pytest.raises(NotFound):
        knowledge.entry_delete(workspace=other_workspace, entry_id=entry.pk, actor=other_actor)
    assert knowledge.knowledge_answer(workspace, "is there a free trial").kind == "answer"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "x", "body": "   "}, "body"),
        ({"title": "x", "body": "y", "kind": "faq"}, "kind"),
        ({"title": "x", "body": "y", "link": "javascript:alert(1)"}, "link"),
        ({"title": "x", "body": "y", "phrasings": [1, 2]}, "phrasings"),
        ({"title": "x" * 301, "body": "y"}, "title"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_field(workspace, owner_actor, data, field):
    with pytest.raises(ValidationFailed) as refused:
        knowledge.entry_create(workspace=workspace, actor=owner_actor, data=data)
    assert [error.field for error in refused.value.errors] == [field]
