"""Public chat URLs (no login), answered to the chat widget on customers' sites."""

from django.urls import path

from leadflow.chat import public, public_channels

urlpatterns = [
    path("e/chat/start", public.chat_start, name="chat_start"),
    path("e/chat/message", public.chat_message, name="chat_message"),
    path("e/chat/messages", public.chat_messages, name="chat_messages"),
    path("hooks/telegram/<str:token>/", public_channels.telegram_hook, name="chat_hook_telegram"),
    path("hooks/whatsapp/<str:token>/", public_channels.whatsapp_hook, name="chat_hook_whatsapp"),
    path(
        "hooks/messenger/<str:token>/",
        public_channels.messenger_hook,
        name="chat_hook_messenger",
    ),
]
