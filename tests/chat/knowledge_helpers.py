"""Helpers for the knowledge base's tests: the test set written through the services, and
the embedding tasks the commit queued run as the worker runs them."""

from django_tasks_db.models import DBTaskResult

from leadflow.chat.knowledge import entry_create
from leadflow.chat.knowledge_tasks import knowledge_embed_task
from tests.chat.knowledge_set import ARTICLES, QUESTIONS


def run_queued(task) -> int:
    """Run every queued call of ``task`` once (as the worker would); how many ran."""
    runs = 0
    for row in DBTaskResult.objects.filter(task_path=task.module_path, status="READY"):
        task.call(*row.args_kwargs["args"])
        row.delete()
        runs += 1
    return runs


def run_embedding_tasks() -> int:
    """Run every queued embedding task once (as the worker would); how many ran."""
    return run_queued(knowledge_embed_task)


def write_test_set(workspace, actor) -> dict[str, int]:
    """The test set's entries in the workspace; {title: entry id}."""
    ids = {}
    for title, answer, phrasings in QUESTIONS:
        entry = entry_create(
            workspace=workspace,
            actor=actor,
            data={"kind": "question", "title": title, "body": answer, "phrasings": phrasings},
        )
        ids[title] = entry.pk
    for title, body in ARTICLES:
        entry = entry_create(
            workspace=workspace, actor=actor, data={"kind": "article", "title": title, "body": body}
        )
        ids[title] = entry.pk
    return ids
