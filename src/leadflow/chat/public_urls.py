"""Public chat URLs (no login), answered to the chat widget on customers' sites."""

from django.urls import path

from leadflow.chat import public, public_channels, public_stream, public_widget

urlpatterns = [
    path("e/chat/start", public.chat_start, name="chat_start"),
    path("e/chat/message", public.chat_message, name="chat_message"),
    path("e/chat/messages", public.chat_messages, name="chat_messages"),
    path("e/chat/config", public_widget.chat_config, name="chat_config"),
    path("e/chat/handover", public.chat_handover, name="chat_handover"),
    path("e/chat/email", public.chat_email, name="chat_email"),
    path("e/chat/rate", public.chat_rate, name="chat_rate"),
    path("e/chat/transcript", public.chat_transcript, name="chat_transcript"),
    path("hooks/telegram/<str:token>/", public_channels.telegram_hook, name="chat_hook_telegram"),
    path("hooks/whatsapp/<str:token>/", public_channels.whatsapp_hook, name="chat_hook_whatsapp"),
    path(
        "hooks/messenger/<str:token>/",
        public_channels.messenger_hook,
        name="chat_hook_messenger",
    ),
    path("e/chat/stream", public_stream.chat_stream, name="chat_stream"),
    path("e/chat/typing", public_stream.chat_typing, name="chat_typing"),
]
