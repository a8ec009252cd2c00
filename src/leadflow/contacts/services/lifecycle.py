"""Lifecycle stage and consent moves, used by capture and later by scoring."""

from django.utils import timezone

from leadflow.contacts.kind_writers import consent_changed_data, stage_changed_data
from leadflow.contacts.models import (
    ActivityKind,
    Contact,
    LifecycleStage,
)
from leadflow.contacts.services.activities import activity_record
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace


def contact_stage_promote(
    *,
    workspace: Workspace,
    contact: Contact,
    stage: str,
    actor: Actor,
    reason: str = "",
) -> bool:
    """Move a known contact to ``stage`` because of a new submission (a form, a lead
    source), as far as ``LifecycleStage.submission_moves`` allows: forward inside the
    funnel only (a customer who fills a form stays a customer; a nurtured or disqualified
    contact stays parked). Records ``stage.changed`` with the reason. Returns True if moved."""
    current = contact.lifecycle_stage
    if not LifecycleStage.submission_moves(current, stage):
        return False
    Contact.objects.filter(pk=contact.pk).update(lifecycle_stage=stage, updated_at=timezone.now())
    contact.lifecycle_stage = stage
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=ActivityKind.STAGE_CHANGED,
        actor=actor,
        data=stage_changed_data(before=current, after=stage, reason=reason),
    )
    return True


def contact_consent_set(
    *, workspace: Workspace, contact: Contact, status: str, actor: Actor
) -> None:
    """Record a change of the contact's consent status on its timeline."""
    if contact.consent_status == status:
        return
    previous = contact.consent_status
    Contact.objects.filter(pk=contact.pk).update(consent_status=status, updated_at=timezone.now())
    contact.consent_status = status
    activity_record(
        workspace=workspace,
        contact=contact,
        kind=ActivityKind.CONSENT_CHANGED,
        actor=actor,
        data=consent_changed_data(before=previous, after=status),
    )
