"""Reads of one-to-one email: the workspace's templates, a contact's emails, and the merged
preview of an email to a contact. Each takes the workspace first; a contact is found only
among those the actor may see (contacts.selectors.contacts_visible)."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from leadflow.contacts.models import ConsentStatus, Contact
from leadflow.contacts.selectors import contact_get, custom_field_list
from leadflow.contacts.suppression import email_suppressed
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound
from leadflow.core.models import User, Workspace
from leadflow.sales.merge import (
    MERGE_FIELDS,
    Merged,
    merge,
    merge_values,
    merged_html,
    one_line,
)
from leadflow.sales.models import EmailTemplate, PersonalEmail


def email_template_list(workspace: Workspace) -> QuerySet[EmailTemplate]:
    """The workspace's templates by name."""
    return EmailTemplate.objects.filter(workspace=workspace).order_by("name", "id")


def email_template_get(workspace: Workspace, template_id: int) -> EmailTemplate:
    """One template of the workspace; NotFound for another workspace's id."""
    template = EmailTemplate.objects.filter(workspace=workspace, pk=template_id).first()
    if template is None:
        raise NotFound("No such email template.")
    return template


def contact_emails(workspace: Workspace, actor: Actor, contact_id: int) -> QuerySet[PersonalEmail]:
    """The personal emails written to a contact the actor may see, newest first, with their
    sender loaded (NotFound for a contact the actor may not see)."""
    contact = contact_get(workspace, actor, contact_id)
    return (
        PersonalEmail.objects.filter(workspace=workspace, contact=contact)
        .select_related("sender")
        .order_by("-queued_at", "-id")
    )


def merge_field_choices(workspace: Workspace) -> list[tuple[str, str]]:
    """(name, label) of every merge field a template of this workspace may use."""
    custom = [(f"custom.{item.key}", item.label) for item in custom_field_list(workspace)]
    return [*MERGE_FIELDS.items(), *custom]


def custom_field_keys(workspace: Workspace) -> list[str]:
    return [item.key for item in custom_field_list(workspace)]


@dataclass
class EmailPreview:
    """An email merged for one contact: what would go out, and what to warn about (merge
    fields that came out empty, names that are not merge fields)."""

    subject: str
    body: str
    empty_fields: list[str] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)

    @property
    def html(self) -> str:
        return merged_html(self.body)


def email_merge(
    workspace: Workspace, contact: Contact, *, subject: str, body: str, sender: User | None
) -> EmailPreview:
    """``subject`` and ``body`` merged for ``contact`` with ``sender``'s name and email."""
    values = merge_values(
        contact=contact,
        custom_keys=custom_field_keys(workspace),
        sender=sender,
        workspace_name=workspace.name,
    )
    merged_subject, merged_body = merge(subject, values), merge(body, values)
    return EmailPreview(
        subject=one_line(merged_subject.text),
        body=merged_body.text,
        empty_fields=_union(merged_subject, merged_body, "empty_fields"),
        unknown_fields=_union(merged_subject, merged_body, "unknown_fields"),
    )


def personal_email_preview(
    workspace: Workspace,
    actor: Actor,
    contact_id: int,
    *,
    subject: str,
    body: str,
    sender: User | None,
) -> EmailPreview:
    """The preview of an email to a contact the actor may see (NotFound otherwise)."""
    contact = contact_get(workspace, actor, contact_id)
    return email_merge(workspace, contact, subject=subject, body=body, sender=sender)


def _union(one: Merged, other: Merged, name: str) -> list[str]:
    return list(dict.fromkeys([*getattr(one, name), *getattr(other, name)]))


def recipient_errors(workspace: Workspace, contact: Contact) -> list[FieldError]:
    """Why this contact cannot be emailed now (empty when it can), on the field ``to``: no
    address, consent withdrawn, or an address a suppression check names."""
    if not contact.email:
        return [FieldError("to", "This contact has no email address.")]
    if contact.consent_status == ConsentStatus.WITHDRAWN:
        return [FieldError("to", "This contact withdrew consent: do not email them.")]
    reason = email_suppressed(workspace.pk, contact.email)
    if reason:
        return [FieldError("to", f"This address is on the suppression list ({reason}).")]
    return []
