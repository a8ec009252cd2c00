"""The workspace's email set-up: sending identities, SMTP and DKIM settings (secrets named,
never stored: nurture.services.transport), marketing templates (checked in the sandbox on
every save), and the test send."""

from email.utils import parseaddr

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.nurture.links import UnsubscribeLink
from leadflow.nurture.models import (
    MarketingTemplate,
    Message,
    SendingIdentity,
    SmtpSettings,
    TemplateSourceKind,
)
from leadflow.nurture.services.rendering import CompiledTemplate, contact_fields, template_check
from leadflow.nurture.services.template_sources import source_compile, text_generate
from leadflow.nurture.services.transport import (
    address_domain,
    dkim_key,
    email_build,
    email_hand_over,
    mail_connection,
    message_id_for,
    smtp_settings_check,
)

SMTP_FIELDS = (
    "host", "port", "tls_mode", "username", "password_env", "dkim_domain", "dkim_selector",
    "dkim_key_env", "dkim_key_file",
)  # fmt: skip


def address_check(field: str, value: str, *, required: bool) -> None:
    name, address = parseaddr(value or "")
    if (required or value) and ("@" not in address or address != value.strip() or name):
        raise ValidationFailed([FieldError(field, "An email address (name@domain).")])


def identity_create(*, workspace: Workspace, data: dict) -> SendingIdentity:
    """A sending identity; its address is unique in the workspace (409 otherwise)."""
    address_check("from_address", data.get("from_address", ""), required=True)
    address_check("reply_to", data.get("reply_to", ""), required=False)
    try:
        with transaction.atomic():
            return SendingIdentity.objects.create(workspace=workspace, **data)
    except IntegrityError:
        raise Conflict("A sending identity with this address exists.") from None


def identity_update(*, workspace: Workspace, identity_id: int, data: dict) -> SendingIdentity:
    identity = _identity(workspace, identity_id)
    if "from_address" in data:
        address_check("from_address", data["from_address"], required=True)
    if "reply_to" in data:
        address_check("reply_to", data["reply_to"], required=False)
    for key, value in data.items():
        setattr(identity, key, value)
    try:
        with transaction.atomic():
            identity.save()
    except IntegrityError:
        raise Conflict("A sending identity with this address exists.") from None
    return identity


def identity_delete(*, workspace: Workspace, identity_id: int) -> None:
    identity = _identity(workspace, identity_id)
    if Message.objects.filter(identity=identity).exists():
        raise Conflict("Messages use this identity.")
    identity.delete()


def _identity(workspace: Workspace, identity_id: int) -> SendingIdentity:
    identity = SendingIdentity.objects.filter(workspace=workspace, pk=identity_id).first()
    if identity is None:
        raise NotFound("No such sending identity.")
    return identity


def smtp_settings_save(*, workspace: Workspace, data: dict) -> SmtpSettings:
    """Replace the workspace's SMTP and DKIM settings (an empty host: the installation's
    mail settings). Secrets are names of environment variables or of a key file."""
    data = {key: value for key, value in data.items() if key in SMTP_FIELDS}
    smtp_settings_check(workspace.pk, data)
    settings_, _ = SmtpSettings.objects.update_or_create(
        workspace=workspace, defaults={**data, "updated_at": timezone.now()}
    )
    return settings_


TEMPLATE_SOURCES = ("blocks", "mjml_source", "html_body")
KIND_OF_SOURCE = (
    (TemplateSourceKind.BLOCKS, "blocks"),
    (TemplateSourceKind.MJML, "mjml_source"),
    (TemplateSourceKind.HTML, "html_body"),
)


def _template_compiled(template: MarketingTemplate, data: dict) -> None:
    """Set ``template`` from ``data``: its source compiled once to the HTML body (a
    ValidationFailed naming each bad field otherwise), the text part generated unless the
    author wrote one (template_sources)."""
    given = [kind for kind, name in KIND_OF_SOURCE if name in data]
    kind = data.get("source_kind") or (given[0] if given else template.source_kind)
    source_given = any(name in data for name in TEMPLATE_SOURCES) or "source_kind" in data
    template_check(**{k: v for k, v in data.items() if k in ("subject", "text_body")})
    if source_given or not template.pk:
        compiled = source_compile(
            kind=kind,
            blocks=data.get("blocks", template.blocks),
            mjml_source=data.get("mjml_source", template.mjml_source),
            html_body=data.get("html_body", template.html_body),
        )
        template.blocks = compiled.blocks
        template.mjml_source = compiled.mjml_source
        template.html_body = compiled.html_body
    template.source_kind = kind
    for key in ("name", "subject"):
        if key in data:
            setattr(template, key, data[key])
    if (data.get("text_body") or "").strip():
        template.text_body, template.text_generated = data["text_body"], False
    elif "text_body" in data or template.text_generated or not template.text_body:
        template.text_body = text_generate(template.html_body)
        template.text_generated = bool(template.text_body)


def template_create(*, workspace: Workspace, data: dict) -> MarketingTemplate:
    """A marketing template from HTML, MJML or blocks (``source_kind``), compiled once here;
    subject and bodies compile in the sandbox (422 naming each field that does not); names
    are unique in the workspace (409)."""
    template = MarketingTemplate(workspace=workspace, html_body="")
    _template_compiled(template, data)
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise Conflict("A template with this name exists.") from None
    return template


def template_update(*, workspace: Workspace, template_id: int, data: dict) -> MarketingTemplate:
    """Change a template; a new source (or kind) is compiled again, once."""
    template = MarketingTemplate.objects.filter(workspace=workspace, pk=template_id).first()
    if template is None:
        raise NotFound("No such template.")
    _template_compiled(template, data)
    template.updated_at = timezone.now()
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise Conflict("A template with this name exists.") from None
    return template


SAMPLE_CONTACT = {"first_name": "Alex", "last_name": "Example", "email": "alex@example.com"}


def smtp_test_send(
    *, workspace: Workspace, identity_id: int, to: str, template_id: int | None = None
) -> str:
    """Send one test email now through the workspace's mail settings, with its DKIM
    signature and unsubscribe headers, to ``to``; returns its Message-ID. The one send
    done in a request: its answer (it went, or the server's error) is the point. Errors
    are a ValidationFailed on ``smtp`` with the server's answer."""
    address_check("to", to, required=True)
    identity = _identity(workspace, identity_id)
    template = None
    if template_id is not None:
        template = MarketingTemplate.objects.filter(workspace=workspace, pk=template_id).first()
        if template is None:
            raise NotFound("No such template.")
    compiled = CompiledTemplate(
        subject=template.subject if template else "LeadFlow test email",
        html_body=template.html_body
        if template
        else "<p>Hello {{ contact.first_name }}, this is a test of your sending settings.</p>",
        text_body=template.text_body if template else "",
    )
    smtp = SmtpSettings.objects.filter(workspace=workspace).first()
    message_id = message_id_for(
        message_pk=0,
        contact_pk=None,
        step=int(timezone.now().timestamp()),
        domain=address_domain(identity.from_address),
    )
    prepared = email_build(
        rendered=compiled.render(contact_fields(SAMPLE_CONTACT)),
        identity=identity,
        to=to,
        message_id=message_id,
        unsubscribe=UnsubscribeLink(workspace_id=workspace.pk, contact_id=None, address=to),
        signer=dkim_key(smtp),
    )
    try:
        with mail_connection(smtp) as connection:
            email_hand_over(connection, prepared)
    except OSError as error:
        raise ValidationFailed(
            [FieldError("smtp", f"The mail server did not take it: {error}")]
        ) from None
    return message_id
