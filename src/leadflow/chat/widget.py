"""What the chat widget on a customer's site is told (docs/chat/widget.md).

Two reads, both cheap and cached a few seconds per process:

- ``tracker_chat_hook`` (a ``tracking.selectors.TRACKER_CONFIG_HOOKS`` entry): lf.js loads
  the launcher (``leadflow/chat-launcher.js``) while the workspace's chat is enabled and an
  active, published flow exists; otherwise the tracker loads nothing for the chat;
- ``widget_config``: the launcher's settings for one page (GET /e/chat/config): the look,
  the greeting, the consent notice, the flow that runs there and its proactive start, the
  addresses of the chat UI it loads on the first click. ``{"flow": null}`` where no flow
  runs on the page (or the chat is off): the launcher then draws nothing — unless a person
  has the visitor's chat (the launcher says ``live``): then the look comes with ``"flow":
  null`` and the conversation follows the visitor to every page while the chat is on.
"""

from typing import Any

from django.templatetags.static import static

from leadflow.chat.models import ChatSettings, Flow, FlowStatus
from leadflow.chat.services.conversations import flow_for_page
from leadflow.chat.services.settings import WIDGET_CACHE, WIDGET_FIELDS
from leadflow.core.cache import cached
from leadflow.core.models import Workspace

LAUNCHER = "leadflow/chat-launcher.js"
WIDGET_SCRIPT = "leadflow/chat-widget.js"
WIDGET_STYLE = "leadflow/chat-widget.css"


def _settings(workspace_id: int) -> dict[str, Any]:
    """The widget's settings (the defaults until saved) and whether a flow could run."""

    def load() -> dict[str, Any]:
        row = ChatSettings.objects.filter(workspace_id=workspace_id).first()
        row = row or ChatSettings(workspace_id=workspace_id)
        values = {name: getattr(row, name) for name in WIDGET_FIELDS}
        values["has_flow"] = Flow.objects.filter(
            workspace_id=workspace_id, status=FlowStatus.ACTIVE, current_version__isnull=False
        ).exists()
        return values

    return cached(WIDGET_CACHE, workspace_id, load)


def tracker_chat_hook(workspace: Workspace) -> dict:
    """The launcher among lf.js's scripts while the chat may show on some page."""
    settings = _settings(workspace.pk)
    if not (settings["enabled"] and settings["has_flow"]):
        return {}
    return {"scripts": [f"{static(LAUNCHER)}?k={workspace.public_key}"]}


def text_colour_on(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (#rrggbb): WCAG's relative
    luminance, the contrast with white against the contrast with near-black."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(background[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#ffffff" if (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) else "#111827"


def widget_config(workspace: Workspace, page_url: str, *, live: bool = False) -> dict[str, Any]:
    """What the launcher and the chat UI need on ``page_url`` (see the module docstring);
    ``live``: the visitor's chat is with a person (or waiting for one)."""
    settings = _settings(workspace.pk)
    if not settings["enabled"]:
        return {"flow": None}
    flow = flow_for_page(workspace, page_url)
    if flow is None and not live:
        return {"flow": None}
    proactive = (
        flow.proactive if flow is not None and (flow.proactive or {}).get("enabled") else None
    )
    return {
        "flow": flow.pk if flow is not None else None,
        "launcher": {
            "label": settings["launcher_label"],
            "colour": settings["colour"],
            "text_colour": text_colour_on(settings["colour"]),
            "position": settings["position"],
        },
        "greeting": settings["greeting"],
        "consent": {
            "required": settings["consent_required"],
            "text": settings["consent_text"],
            "privacy_url": settings["privacy_url"],
        },
        "offline_message": settings["offline_message"],
        "proactive": proactive,
        "script": static(WIDGET_SCRIPT),
        "style": static(WIDGET_STYLE),
    }
