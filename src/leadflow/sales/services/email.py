"""One-to-one email: the workspace's templates, and a member's email to a contact.

Guarantees:

- A template's subject and body hold only known merge fields (sales.merge): an unknown name
  (``{{ contact.__class__ }}``) is refused, naming the field, when the template is saved.
- ``personal_email_send`` stores at most one email per ``client_id`` in the workspace: a
  double click or a retried request (even two at once, held apart by the unique constraint)
  returns the first email and schedules nothing more.
- An email is written only to a contact the actor may see, that has an email address, whose
  consent is not withdrawn and whose address no suppression check names
  (contacts.suppression); otherwise nothing is written and ``ValidationFailed`` says why.
  A personal email is not marketing: no frequency cap applies to it.
- The email row and its ``email.queued`` activity are written in one transaction, which
  schedules the worker's send (sales.tasks.personal_email_deliver) to run after the commit.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.contacts.selectors import contacts_visible
from leadflow.contacts.services import activity_record
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.sales import selectors
from leadflow.sales.kinds import EMAIL_QUEUED, email_data
from leadflow.sales.models import EmailTemplate, PersonalEmail
from leadflow.sales.models.email import (
    BODY_MAX_LENGTH,
    CLIENT_ID_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
)

DELIVER_TASK = "leadflow.sales.tasks.personal_email_deliver"
TEMPLATE_FIELDS = ("name", "subject", "body")


# --- templates ----------------------------------------------------------------------------


def _text_errors(
    workspace: Workspace, values: Mapping[str, Any], *, custom_keys: list[str] | None = None
) -> list[FieldError]:
    """Each bad subject or body (empty, too long, an unknown merge field) named."""
    keys = custom_keys if custom_keys is not None else selectors.custom_field_keys(workspace)
    errors = []
    limits = {"subject": SUBJECT_MAX_LENGTH, "body": BODY_MAX_LENGTH}
    for name, limit in limits.items():
        if name not in values:
            continue
        text = values[name]
        if not isinstance(text, str) or not text.strip():
            errors.append(FieldError(name, "Write something here."))
            continue
        if len(text) > limit:
            errors.append(FieldError(name, f"At most {limit:,} characters."))
            continue
        errors += selectors.merge_field_errors(workspace, {name: text}, custom_keys=keys)
    return errors


def _template_values(
    workspace: Workspace, data: Mapping[str, Any], *, partial: bool
) -> dict[str, Any]:
    errors = [FieldError(key, "Unknown field.") for key in data if key not in TEMPLATE_FIELDS]
    values = {key: data[key] for key in TEMPLATE_FIELDS if key in data}
    if not partial:
        errors += [
            FieldError(key, "This field is required.") for key in TEMPLATE_FIELDS if key not in data
        ]
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
            errors.append(FieldError("name", "A name of 1 to 100 characters."))
        else:
            values["name"] = name.strip()
    errors += _text_errors(workspace, values)
    if errors:
        raise ValidationFailed(errors)
    if "subject" in values:
        values["subject"] = values["subject"].strip()
    return values


def _template_save(template: EmailTemplate) -> None:
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise ValidationFailed([FieldError("name", "A template with this name exists.")]) from None


@transaction.atomic
def email_template_create(
    *, workspace: Workspace, data: Mapping[str, Any], actor: Actor
) -> EmailTemplate:
    """A new template (name, subject, body); its name is unique in the workspace."""
    values = _template_values(workspace, data, partial=False)
    template = EmailTemplate(workspace=workspace, created_by_id=actor.user_id, **values)
    _template_save(template)
    audit_record(workspace=workspace, actor=actor, action="email_template.created", obj=template)
    return template


@transaction.atomic
def email_template_update(
    *, workspace: Workspace, template_id: int, data: Mapping[str, Any], actor: Actor
) -> EmailTemplate:
    """Change the fields given; emails already written keep their text."""
    template = selectors.email_template_get(workspace, template_id)
    values = _template_values(workspace, data, partial=True)
    changes = {
        key: [getattr(template, key), value]
        for key, value in values.items()
        if getattr(template, key) != value
    }
    for key, value in values.items():
        setattr(template, key, value)
    template.updated_at = timezone.now()
    _template_save(template)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="email_template.updated",
        obj=template,
        changes=changes,
    )
    return template


@transaction.atomic
def email_template_delete(*, workspace: Workspace, template_id: int, actor: Actor) -> None:
    """Delete a template; emails written with it keep their text (without the link)."""
    template = selectors.email_template_get(workspace, template_id)
    audit_record(workspace=workspace, actor=actor, action="email_template.deleted", obj=template)
    template.delete()


# --- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    """The email stored for this client id, and whether this call stored it (False: an
    earlier call with the same client id did, and nothing more was scheduled)."""

    email: PersonalEmail
    created: bool


def personal_email_send(
    *,
    workspace: Workspace,
    contact_id: int,
    subject: str,
    body: str,
    actor: Actor,
    template_id: int | None = None,
    client_id: str | None = None,
    sender_id: int | None = None,
) -> SendResult:
    """Write a personal email from a member to a contact and have the worker send it (see
    the module's guarantees). ``subject`` and ``body`` are written with merge fields and
    stored merged. The sender is the acting member; through an API key, the member named by
    ``sender_id``, else the key's creator (a current member who may write to leads).
    NotFound for a contact the actor may not see; ValidationFailed naming each bad field."""
    client_id = _client_id_clean(client_id)
    with transaction.atomic():
        contact = (
            contacts_visible(workspace, actor)
            .select_related("company")
            .filter(pk=contact_id)
            .first()
        )
        if contact is None:
            raise NotFound("No such contact.")
        earlier = _earlier(workspace, client_id, contact_id)
        if earlier is not None:
            return SendResult(earlier, created=False)
        sender = selectors.email_sender(workspace, actor, sender_id)
        errors = _text_errors(workspace, {"subject": subject, "body": body})
        errors += selectors.recipient_errors(workspace, contact)
        template = None
        if template_id is not None:
            template = EmailTemplate.objects.filter(workspace=workspace, pk=template_id).first()
            if template is None:
                errors.append(FieldError("template_id", "No such email template."))
        if errors:
            raise ValidationFailed(errors)
        merged = selectors.email_merge(
            workspace, contact, subject=subject, body=body, sender=sender
        )
        email = PersonalEmail(
            workspace=workspace,
            contact=contact,
            sender=sender,
            template=template,
            to_address=contact.email,
            reply_to=sender.email,
            subject=merged.subject[:SUBJECT_MAX_LENGTH],
            body=merged.body,
            client_id=client_id,
        )
        try:
            with transaction.atomic():
                email.save()
        except IntegrityError:
            email = None  # the same client id won a race: answer with its email
        if email is not None:
            activity_record(
                workspace=workspace,
                contact=contact,
                kind=EMAIL_QUEUED,
                actor=actor,
                data=email_data(
                    email_id=email.pk,
                    subject=email.subject,
                    to=email.to_address,
                    sender_id=sender.pk,
                    sender=sender.display_name,
                    body=email.body,
                ),
                occurred_at=email.queued_at,
            )
            task_schedule(DELIVER_TASK, email.pk)
            return SendResult(email, created=True)
    earlier = _earlier(workspace, client_id, contact_id)
    assert earlier is not None  # the unique constraint said it exists
    return SendResult(earlier, created=False)


def _client_id_clean(client_id: str | None) -> str:
    if client_id is None or (isinstance(client_id, str) and not client_id.strip()):
        return uuid.uuid4().hex
    if not isinstance(client_id, str) or len(client_id.strip()) > CLIENT_ID_MAX_LENGTH:
        raise ValidationFailed(
            [FieldError("client_id", f"Text of at most {CLIENT_ID_MAX_LENGTH} characters.")]
        )
    return client_id.strip()


def _earlier(workspace: Workspace, client_id: str, contact_id: int) -> PersonalEmail | None:
    """The email already stored under this client id; ValidationFailed when it was for
    another contact (a client id names one email)."""
    earlier = PersonalEmail.objects.filter(workspace=workspace, client_id=client_id).first()
    if earlier is not None and earlier.contact_id != contact_id:
        raise ValidationFailed(
            [FieldError("client_id", "This client id was used for an email to another contact.")]
        )
    return earlier
