"""What a person sends on a messenger that the flow cannot read (a photo, a voice message,
a file, a location; ``Inbound.kind == "media"``, docs/chat/messengers.md).

Never given to the bot as an answer, never dropped in silence:

- while the bot has the conversation, it says (once per message, by the platform's message
  id) that it reads only text, and waits on the same question;
- while a person has it, or it waits for one, the thread shows what was sent ("Sent a
  photo; open Telegram to see it") so the agent knows to look there.
"""

from django.db import IntegrityError, transaction

from leadflow.chat.channel_platforms import Inbound
from leadflow.chat.models import (
    OPEN_STATUSES,
    Channel,
    Conversation,
    ConversationStatus,
    Message,
    MessageAuthor,
)
from leadflow.chat.services.conversations import (
    ConversationCall,
    conversation_save,
    conversation_start,
    flow_for_page,
    message_add,
)

TEXT_ONLY = "I can only read text here. Please type your answer."


def channel_media_receive(
    *, channel: Channel, inbound: Inbound, client_id: str
) -> tuple[str, int | None]:
    """The outcome (as ``channels.Received``) and the conversation: the person's open
    conversation on this channel says it; with none, the flow starts (its greeting) and
    then says it."""
    person = Conversation.objects.filter(
        workspace_id=channel.workspace_id, channel=channel, external_id=inbound.external_id[:100]
    )
    for _ in range(3):
        found = person.filter(status__in=OPEN_STATUSES).order_by("-pk").first()
        outcome = "stored"
        if found is None:
            flow = flow_for_page(channel.workspace, "", channel.flow_id)
            if flow is None:
                return "ignored", None
            try:
                found = conversation_start(
                    workspace=channel.workspace,
                    flow_id=flow.pk,
                    channel_id=channel.pk,
                    external_id=inbound.external_id,
                ).conversation
            except IntegrityError:
                continue  # the same person's other message opened it first
            outcome = "started"
        said = _say(found.pk, inbound, client_id, channel.get_kind_display())
        if said != "closed":
            return (outcome if said == "stored" else said), found.pk
    return "ignored", None


def _say(conversation_id: int, inbound: Inbound, client_id: str, platform: str) -> str:
    """``stored``, ``duplicate`` (said already) or ``closed`` (it ended meanwhile)."""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("flow", "flow_version", "workspace")
            .get(pk=conversation_id)
        )
        if Message.objects.filter(conversation=conversation, client_id=client_id).exists():
            return "duplicate"
        if conversation.status == ConversationStatus.CLOSED:
            return "closed"
        call = ConversationCall(conversation, conversation.flow, conversation.flow_version.graph)
        payload = {"media": inbound.text}
        if conversation.status == ConversationStatus.BOT:
            payload["notice"] = True  # said to the person on the platform too
            message_add(call, MessageAuthor.SYSTEM, TEXT_ONLY, payload=payload, client_id=client_id)
        else:
            text = f"Sent {inbound.text}; open {platform} to see it."
            message_add(call, MessageAuthor.VISITOR, text, payload=payload, client_id=client_id)
        conversation_save(call)
    return "stored"
