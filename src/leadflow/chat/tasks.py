"""Chat's background work: the idle pass that marks conversations left mid-flow, and the
knowledge base's answers to visitors (its model loads in the worker only), transcripts by
email."""

from django.tasks import task

from leadflow.chat.services import (
    conversation_knowledge_reply,
    conversation_transcript_email,
    conversations_mark_left,
)


@task()
def conversations_idle_mark() -> int:
    """Mark conversations idle mid-flow as left (``conversations_mark_left``); safe to run
    twice: a conversation is marked once."""
    return conversations_mark_left()


@task()
def conversation_knowledge_reply_task(conversation_id: int, step: str, question: str) -> bool:
    """The bot's answer from the knowledge base (``conversation_knowledge_reply``); safe to
    run twice: only a conversation still waiting at that step is answered."""
    return conversation_knowledge_reply(
        conversation_id=conversation_id, step=step, question=question
    )


@task()
def conversation_transcript_email_task(conversation_id: int, address: str) -> bool:
    """Email a conversation's transcript (without the agents' notes) to ``address``."""
    return conversation_transcript_email(conversation_id=conversation_id, address=address)
