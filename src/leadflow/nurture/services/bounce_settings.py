"""A workspace's bounce settings (the mailbox, the soft-bounce limit) and its webhook URLs.

Webhook URLs carry a token signed with the installation's secret over (workspace,
provider, generation): nothing secret is stored, a URL works for its one provider and
workspace only, and ``webhook_token_rotate`` (a new generation) revokes every URL given
out before. A post with a token that does not verify is answered 404 and writes nothing.
"""

import re

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.secrets import secret_name_error, secret_name_problems, secret_read
from leadflow.core.services import audit_record
from leadflow.nurture.models import (
    MAILBOX_PASSWORD_ENV_PREFIX,
    MAILGUN_KEY_ENV_PREFIX,
    BounceSettings,
    MailboxKind,
    TlsMode,
)

WEBHOOK_SALT = "leadflow.nurture.bounce-webhook"
BOUNCE_FIELDS = (
    "mailbox_kind", "host", "port", "tls_mode", "username", "password_env", "folder",
    "maildir_name", "soft_bounce_limit", "mailgun_key_env",
)  # fmt: skip
MAILDIR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
TOKEN = re.compile(r"(\d{1,18})-([0-9a-f]{32})")
SOFT_BOUNCE_LIMIT_MAX = 20
# The providers whose webhooks are read (services.bounce_webhooks has a reader for each).
SECRET_PREFIXES = {
    "password_env": MAILBOX_PASSWORD_ENV_PREFIX,
    "mailgun_key_env": MAILGUN_KEY_ENV_PREFIX,
}
PROVIDER_NAMES = {
    "amazon_ses": "Amazon SES",
    "postmark": "Postmark",
    "sendgrid": "SendGrid",
    "mailgun": "Mailgun",
}


def bounce_settings_get(workspace: Workspace) -> BounceSettings:
    """The workspace's bounce settings (unsaved defaults when it has none)."""
    found = BounceSettings.objects.filter(workspace=workspace).first()
    return found or BounceSettings(workspace=workspace)


def bounce_secret(found: BounceSettings, field: str) -> str:
    """The value of the variable the settings' ``field`` (``password_env``,
    ``mailgun_key_env``) names: "" when it is unset or not this workspace's to name."""
    return secret_read(found.workspace_id, SECRET_PREFIXES[field], getattr(found, field))


def bounce_secret_problems(found: BounceSettings) -> dict[str, str]:
    """For each name saved that is not this workspace's: the line saying to rename it."""
    return secret_name_problems(found, SECRET_PREFIXES)


def _check(workspace_id: int, data: dict) -> None:
    errors = []
    kind = data.get("mailbox_kind", MailboxKind.NONE)
    if kind not in MailboxKind.values:
        errors.append(FieldError("mailbox_kind", "Choose none, imap or maildir."))
    if kind == MailboxKind.IMAP and not (data.get("host") or "").strip():
        errors.append(FieldError("host", "The IMAP server's name is needed."))
    if kind == MailboxKind.IMAP and not (data.get("username") or "").strip():
        errors.append(FieldError("username", "The mailbox's user name is needed."))
    if any(c in (data.get(n) or "") for n in ("host", "username", "folder") for c in "\r\n\0"):
        errors.append(FieldError("host", "One line of text only."))
    port = data.get("port", 993)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        errors.append(FieldError("port", "Between 1 and 65535."))
    if data.get("tls_mode", TlsMode.SSL) not in TlsMode.values:
        errors.append(FieldError("tls_mode", "Unknown TLS mode."))
    for field, prefix in SECRET_PREFIXES.items():
        name = data.get(field) or ""
        problem = secret_name_error(workspace_id, prefix, name) if name else None
        if problem:
            errors.append(FieldError(field, problem))
    name = data.get("maildir_name") or ""
    if (name or kind == MailboxKind.MAILDIR) and (not MAILDIR_NAME.fullmatch(name) or ".." in name):
        errors.append(FieldError("maildir_name", "A directory name in the bounce directory."))
    limit = data.get("soft_bounce_limit", 3)
    if not isinstance(limit, int) or not 1 <= limit <= SOFT_BOUNCE_LIMIT_MAX:
        errors.append(FieldError("soft_bounce_limit", f"Between 1 and {SOFT_BOUNCE_LIMIT_MAX}."))
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def bounce_settings_save(*, workspace: Workspace, data: dict, actor: Actor) -> BounceSettings:
    """Change the given fields of the workspace's bounce settings (the rest stay); 422
    naming each field that is not right. Secrets are names of environment variables, the
    workspace's own (core.secrets)."""
    current = bounce_settings_get(workspace)
    values = {name: getattr(current, name) for name in BOUNCE_FIELDS}
    changes = {key: value for key, value in data.items() if key in BOUNCE_FIELDS}
    for key in ("host", "username", "folder", "maildir_name", "password_env", "mailgun_key_env"):
        if key in changes:
            changes[key] = (changes[key] or "").strip()
    values.update(changes)
    _check(workspace.pk, values)
    found, _ = BounceSettings.objects.update_or_create(
        workspace=workspace, defaults={**values, "updated_at": timezone.now()}
    )
    audit_record(
        workspace=workspace, actor=actor, action="bounce_settings.updated", obj=found,
        changes={key: str(value) for key, value in changes.items()},
    )  # fmt: skip
    return found


def _signature(workspace_id: int, provider: str, generation: int) -> str:
    return salted_hmac(
        WEBHOOK_SALT, f"{workspace_id}:{provider}:{generation}", algorithm="sha256"
    ).hexdigest()[:32]


def webhook_token(workspace: Workspace, provider: str) -> str:
    generation = bounce_settings_get(workspace).webhook_generation
    return f"{workspace.pk}-{_signature(workspace.pk, provider, generation)}"


def webhook_path(workspace: Workspace, provider: str) -> str:
    return reverse(
        "nurture_provider_webhook",
        kwargs={"provider": provider, "token": webhook_token(workspace, provider)},
    )


def webhook_workspace(provider: str, token: str) -> Workspace | None:
    """The workspace a webhook token was signed for (for this provider, at its current
    generation), or None."""
    match = TOKEN.fullmatch(token or "")
    if match is None:
        return None
    workspace = Workspace.objects.filter(pk=int(match.group(1))).first()
    if workspace is None:
        return None
    generation = bounce_settings_get(workspace).webhook_generation
    expected = _signature(workspace.pk, provider, generation)
    return workspace if constant_time_compare(expected, match.group(2)) else None


@transaction.atomic
def webhook_token_rotate(*, workspace: Workspace, actor: Actor) -> BounceSettings:
    """New webhook URLs for every provider; the old ones answer 404 from now on."""
    found = bounce_settings_get(workspace)
    found.webhook_generation += 1
    found.updated_at = timezone.now()
    found.save()
    audit_record(
        workspace=workspace, actor=actor, action="bounce_settings.webhooks_rotated", obj=found,
        changes={"generation": found.webhook_generation},
    )  # fmt: skip
    return found


def webhook_urls(workspace: Workspace, base_url: str) -> dict[str, str]:
    """Each provider's webhook URL for the workspace (``base_url``: the site's root)."""
    root = base_url.rstrip("/")
    return {provider: root + webhook_path(workspace, provider) for provider in PROVIDER_NAMES}
