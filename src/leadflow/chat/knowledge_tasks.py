"""The knowledge base's background work, run by the worker (where the model loads once)."""

from django.tasks import task

from leadflow.chat.knowledge import knowledge_embed


@task()
def knowledge_embed_task(entry_id: int) -> int:
    """Embed an entry's new passages after the change that made them was committed; safe
    to run twice (the second run finds every passage embedded)."""
    return knowledge_embed(entry_id=entry_id)
