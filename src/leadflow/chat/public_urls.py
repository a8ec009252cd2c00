"""Public chat URLs (no login), answered to the chat widget on customers' sites."""

from django.urls import path

from leadflow.chat import public, public_stream

urlpatterns = [
    path("e/chat/start", public.chat_start, name="chat_start"),
    path("e/chat/message", public.chat_message, name="chat_message"),
    path("e/chat/messages", public.chat_messages, name="chat_messages"),
    path("e/chat/stream", public_stream.chat_stream, name="chat_stream"),
    path("e/chat/typing", public_stream.chat_typing, name="chat_typing"),
]
