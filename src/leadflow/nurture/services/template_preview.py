"""A marketing template seen as one of the workspace's contacts would see it (the editor's
preview, the API's preview) and the test send of it.

Guarantees: the contact is looked up in the template's workspace only (another
workspace's id is NotFound); the offer placeholder is filled with the workspace's first
active offer and a sample code, never a real code (nothing is issued by a preview); a
test send goes through the workspace's mail settings with the subject labelled
``[Test]``, is counted against ``LEADFLOW_TEMPLATE_TEST_SENDS_PER_HOUR`` per member, and is
recorded in the audit log (``marketing_template.test_sent``).
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.ratelimit import rate_limit_hit
from leadflow.core.services import audit_record
from leadflow.nurture.links import UnsubscribeLink
from leadflow.nurture.models import MarketingTemplate, Offer, SendingIdentity, SmtpSettings
from leadflow.nurture.services.rendering import (
    CompiledTemplate,
    Rendered,
    contact_fields,
)
from leadflow.nurture.services.settings import SAMPLE_CONTACT, address_check
from leadflow.nurture.services.template_sources import source_compile
from leadflow.nurture.services.transport import (
    address_domain,
    dkim_key,
    email_build,
    email_hand_over,
    mail_connection,
    message_id_for,
)

SAMPLE_CODE = "SAMPLE-CODE"
TEST_LABEL = "[Test] "


class TooManyTestSends(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many test sends"


def preview_offer(workspace: Workspace) -> dict:
    """What ``{{ offer }}`` shows in a preview: the first active offer, a sample code."""
    offer = Offer.objects.filter(workspace=workspace, active=True).order_by("id").first()
    return {
        "name": offer.name if offer else "Your personal offer",
        "description": offer.description if offer else "",
        "code": SAMPLE_CODE,
        "expires_at": timezone.now() + dt.timedelta(days=(offer.valid_days if offer else 0) or 30),
    }


def preview_contact(workspace: Workspace, contact_id: int | None) -> dict:
    """The chosen contact's fields (NotFound outside the workspace), or a sample person."""
    if contact_id is None:
        return contact_fields(SAMPLE_CONTACT)
    contact = (
        Contact.objects.filter(workspace=workspace, pk=contact_id).select_related("company").first()
    )
    if contact is None:
        raise NotFound("No such contact.")
    return contact_fields(contact, contact.company.name if contact.company else "")


def preview_contacts(workspace: Workspace, query: str, limit: int = 20) -> list[dict]:
    """Contacts to preview as: matching ``query`` by name or email, at most ``limit``."""
    rows = Contact.objects.filter(workspace=workspace)
    query = query.strip()[:100]
    if query:
        rows = rows.filter(
            Q(email__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
        )
    return [
        {"id": row["id"], "label": _label(row)}
        for row in rows.order_by("-id").values("id", "first_name", "last_name", "email")[:limit]
    ]


def _label(row: dict) -> str:
    name = f"{row['first_name']} {row['last_name']}".strip()
    return f"{name} <{row['email']}>" if name and row["email"] else name or row["email"] or "—"


def template_render_as(
    *, workspace: Workspace, template: MarketingTemplate, contact_id: int | None
) -> Rendered:
    """The saved template rendered as the contact, with the sample offer."""
    compiled = CompiledTemplate(
        subject=template.subject, html_body=template.html_body, text_body=template.text_body
    )
    return compiled.render(preview_contact(workspace, contact_id), preview_offer(workspace))


def draft_render_as(
    *, workspace: Workspace, data: dict, contact_id: int | None
) -> tuple[Rendered, list]:
    """An unsaved draft (the editor's fields) compiled and rendered as the contact:
    (rendered, clean blocks); a ValidationFailed names what does not compile."""
    compiled_source = source_compile(
        kind=data.get("source_kind", "html"),
        blocks=data.get("blocks"),
        mjml_source=data.get("mjml_source", ""),
        html_body=data.get("html_body", ""),
    )
    compiled = CompiledTemplate(
        subject=data.get("subject", ""),
        html_body=compiled_source.html_body,
        text_body=data.get("text_body", ""),
    )
    rendered = compiled.render(preview_contact(workspace, contact_id), preview_offer(workspace))
    return rendered, compiled_source.blocks


def template_test_send(
    *,
    workspace: Workspace,
    template_id: int,
    identity_id: int,
    to: str,
    actor: Actor,
    contact_id: int | None = None,
) -> str:
    """Send the saved template now, as the contact (or a sample person), to ``to``,
    labelled ``[Test]``; returns its Message-ID. Rate-limited per member (429)."""
    address_check("to", to, required=True)
    template = MarketingTemplate.objects.filter(workspace=workspace, pk=template_id).first()
    if template is None:
        raise NotFound("No such template.")
    identity = SendingIdentity.objects.filter(workspace=workspace, pk=identity_id).first()
    if identity is None:
        raise ValidationFailed(
            [FieldError("identity_id", "Choose a sending identity (Settings → Marketing email).")]
        )
    rendered = template_render_as(workspace=workspace, template=template, contact_id=contact_id)
    limit = settings.LEADFLOW_TEMPLATE_TEST_SENDS_PER_HOUR
    who = actor.user_id or f"key{actor.api_key_id}"
    if rate_limit_hit(f"template-test:{workspace.pk}:{who}", limit=limit, window_seconds=3600):
        raise TooManyTestSends(f"At most {limit} test sends an hour; try again later.")
    rendered = Rendered(
        subject=(TEST_LABEL + rendered.subject)[:200], html=rendered.html, text=rendered.text
    )
    smtp = SmtpSettings.objects.filter(workspace=workspace).first()
    message_id = message_id_for(
        message_pk=0,
        contact_pk=None,
        step=int(timezone.now().timestamp()),
        domain=address_domain(identity.from_address),
    )
    prepared = email_build(
        rendered=rendered,
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
    with transaction.atomic():
        audit_record(
            workspace=workspace,
            actor=actor,
            action="marketing_template.test_sent",
            obj=template,
            changes={"to": to, "contact_id": contact_id, "message_id": message_id},
        )
    return message_id
