"""Tokens in providers' webhook addresses (``/hooks/<provider>/<token>/``): the workspace's
id and an HMAC of it keyed with the installation's secret and a salt per kind of webhook.
Nothing is stored; a token only routes a post to its workspace (the provider's own
signature authenticates it), and it cannot be guessed for another workspace."""

import re

from django.utils.crypto import constant_time_compare, salted_hmac

from leadflow.core.models import Workspace

TOKEN = re.compile(r"(\d{1,18})-([0-9a-f]{32})")


def _signature(salt: str, workspace_id: int) -> str:
    return salted_hmac(salt, str(workspace_id), algorithm="sha256").hexdigest()[:32]


def workspace_webhook_token(salt: str, workspace_id: int) -> str:
    """The token for one workspace's webhooks of the kind ``salt`` names."""
    return f"{workspace_id}-{_signature(salt, workspace_id)}"


def workspace_of_webhook_token(salt: str, token: str) -> Workspace | None:
    """The workspace ``token`` was made for (with the same ``salt``), or None."""
    match = TOKEN.fullmatch(token or "")
    if match is None or not constant_time_compare(
        _signature(salt, int(match.group(1))), match.group(2)
    ):
        return None
    return Workspace.objects.filter(pk=int(match.group(1))).first()
