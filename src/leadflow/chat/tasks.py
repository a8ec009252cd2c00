"""Chat's background work: the idle pass that marks conversations left mid-flow, the
knowledge base's answers to visitors (its model loads in the worker only), the checkout of
an order placed in the chat (Stripe is called from the worker only), the confirmation
email of a meeting booked in the chat, transcripts by email, and the messages of
messenger conversations sent to the platforms."""

from django.tasks import task

from leadflow.chat.services import (
    conversation_checkout,
    conversation_knowledge_reply,
    conversation_transcript_email,
    conversations_mark_left,
    meeting_confirmation_send,
)
from leadflow.chat.services.channel_delivery import channel_callback_answer, channel_deliver
from leadflow.core.tasks import mail_retrying


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
def conversation_checkout_task(conversation_id: int, order_id: int) -> bool:
    """Open the checkout of an order placed in the chat and say its page
    (``conversation_checkout``); safe to run twice: the page is said once."""
    return conversation_checkout(conversation_id=conversation_id, order_id=order_id)


@task()
@mail_retrying
def meeting_confirmation_task(meeting_id: int) -> int:
    """Email the visitor the meeting they booked, with its invitation; once."""
    return meeting_confirmation_send(meeting_id=meeting_id)


@task()
def conversation_transcript_email_task(conversation_id: int, address: str) -> bool:
    """Email a conversation's transcript (without the agents' notes) to ``address``."""
    return conversation_transcript_email(conversation_id=conversation_id, address=address)


@task()
def channel_deliver_task(conversation_id: int) -> int:
    """Send a messenger conversation's messages not yet sent (``channel_deliver``); safe to
    run twice: a message is sent once. A rate limit or an outage runs it again later."""
    due = channel_deliver(conversation_id=conversation_id)
    if due is not None:
        channel_deliver_task.using(run_after=due).enqueue(conversation_id)
    return 0 if due is None else 1


@task()
def channel_callback_answer_task(channel_id: int, callback_id: str) -> bool:
    """Acknowledge a Telegram button press (``channel_callback_answer``); harmless twice."""
    return channel_callback_answer(channel_id=channel_id, callback_id=callback_id)
