"""Chat: the chatbot and live chat on a customer's site and in messengers.

Flows that capture a lead answer by answer (the bot engine is a pure interpreter of one flow
version), answers from a knowledge base with citations, hand-over to a person, the live
inbox. Every answer arrives through the lead-arrival service (``contacts.services.leads``).
"""

import datetime as dt

from django.apps import AppConfig
from django.conf import settings


class ChatConfig(AppConfig):
    name = "leadflow.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.chat import conversation_kinds, step_kinds, subscribers
        from leadflow.chat.knowledge import knowledge_bot_answer
        from leadflow.chat.knowledge_seam import knowledge_answerer_register
        from leadflow.core.scheduler import periodic_register

        conversation_kinds.register()
        step_kinds.register()
        # An order placed in a chat and paid (the signed webhook): the chat says so and
        # its flow goes on (chat.services.commerce).
        subscribers.register()
        # lf.js loads the chat launcher while the chat may show (chat.widget).
        from leadflow.chat.widget import tracker_chat_hook
        from leadflow.tracking.selectors import TRACKER_CONFIG_HOOKS

        if tracker_chat_hook not in TRACKER_CONFIG_HOOKS:
            TRACKER_CONFIG_HOOKS.append(tracker_chat_hook)
        # The bot's knowledge steps answer from the knowledge base (in the worker).
        knowledge_answerer_register(knowledge_bot_answer)
        periodic_register(
            "chat.conversations_idle",
            "leadflow.chat.tasks.conversations_idle_mark",
            # A visitor who went quiet mid-flow is marked as left at most this late.
            dt.timedelta(seconds=settings.LEADFLOW_CHAT_IDLE_CHECK_SECONDS),
        )
