"""Reads of one-to-one email: the workspace's templates, a contact's emails, and the merged
preview of an email to a contact. Each takes the workspace first; a contact is found only
among those the actor may see (contacts.selectors.contacts_visible)."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from leadflow.contacts.models import ConsentStatus, Contact
from leadflow.contacts.selectors import contact_get, custom_field_list
from leadflow.contacts.suppression import email_suppressed
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import ApiKey, User, Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.sales.merge import (
    MERGE_FIELDS,
    Merged,
    merge,
    merge_values,
    merged_html,
    one_line,
    unknown_merge_fields,
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
    sender_id: int | None = None,
) -> EmailPreview:
    """The preview of an email to a contact the actor may see (NotFound otherwise), as
    ``email_sender`` would send it."""
    contact = contact_get(workspace, actor, contact_id)
    sender = email_sender(workspace, actor, sender_id)
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


def merge_field_errors(
    workspace: Workspace, texts: dict[str, str], custom_keys: list[str] | None = None
) -> list[FieldError]:
    """One error per text (named by its key) that uses a name that is not a merge field."""
    keys = custom_keys if custom_keys is not None else custom_field_keys(workspace)
    errors = []
    for name, text in texts.items():
        unknown = unknown_merge_fields(text, keys)
        if unknown:
            names = ", ".join("{{ " + item + " }}" for item in unknown)
            errors.append(FieldError(name, f"Unknown merge field: {names}."))
    return errors


def email_sender(workspace: Workspace, actor: Actor, sender_id: int | None) -> User:
    """Who sends an email the actor writes: the acting member (ValidationFailed on
    ``sender_id`` naming someone else); through an API key, the member named by
    ``sender_id``, else the key's creator, who must be a member who may write to leads."""
    if actor.user is not None:
        if sender_id is not None and sender_id != actor.user.pk:
            raise ValidationFailed([FieldError("sender_id", "You can only send as yourself.")])
        return actor.user
    if sender_id is None and actor.api_key is not None:
        sender_id = (
            ApiKey.objects.filter(pk=actor.api_key.pk).values_list("created_by", flat=True).first()
        )
    if sender_id is None or not is_member_id(
        workspace, sender_id, permission=LEAD_OWNER_PERMISSION
    ):
        raise ValidationFailed(
            [FieldError("sender_id", "Name a member of the workspace who may write to leads.")]
        )
    return User.objects.get(pk=sender_id)
