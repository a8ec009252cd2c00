"""Notes on a contact's timeline."""

from django.db import transaction

from leadflow.contacts.kind_writers import note_added_data
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
)
from leadflow.contacts.services.activities import activity_record
from leadflow.contacts.services.contacts import contact_for_write
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace


@transaction.atomic
def note_add(*, workspace: Workspace, contact_id: int, body: str, actor: Actor) -> Activity:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed([FieldError("body", "A note needs some text.")])
    if len(body) > 10_000:
        raise ValidationFailed([FieldError("body", "At most 10,000 characters.")])
    contact = contact_for_write(workspace, contact_id, actor)
    return activity_record(
        workspace=workspace,
        contact=contact,
        kind=ActivityKind.NOTE_ADDED,
        actor=actor,
        data=note_added_data(body=body),
    )
