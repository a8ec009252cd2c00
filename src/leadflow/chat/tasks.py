"""Chat's background work: the idle pass that marks conversations left mid-flow."""

from django.tasks import task

from leadflow.chat.services import conversations_mark_left


@task()
def conversations_idle_mark() -> int:
    """Mark conversations idle mid-flow as left (``conversations_mark_left``); safe to run
    twice: a conversation is marked once."""
    return conversations_mark_left()
