"""A lead arrives: the one contract for every way a person leaves their details.

Forms (capture) and ad networks' lead forms (inbound) call ``lead_receive`` today; the API,
landing pages, pop-ups, magnets, chat and imports row by row are to call it too. It holds
the rules of an arrival in one place (decision 0019):

- the contact is upserted by the identity rule (email, else phone) — ``contact_upsert``;
- a new lead gets the arrival's stage and default owner; a known one only moves forward in
  the funnel (``LifecycleStage.submission_moves``) and keeps its owner;
- the arrival's consents (``Arrival.consents``: purpose, text, version, source, address)
  become rows of the consent ledger (``consent_record_many``), new lead or known: a grant
  for a purpose already confirmed stays confirmed;
- exactly one arrival activity is written, ``form.submitted`` (or the arrival's own
  ``kind``: chat writes ``chat.answered``), its payload built by the typed writer of that
  kind (``contacts.kind_writers.form_submitted_data`` for a form);
- on PostgreSQL a new lead known by email is written in one statement
  (``leads_fast``), an implementation detail: the rows are the same.

What the arrival's own app keeps (capture's submission and consent records, inbound's
delivery, the visitor link, notifications) it writes around this call, in the same
transaction.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db import transaction

from leadflow.contacts.inputs import contact_input_clean
from leadflow.contacts.models import (
    MARKETING_PURPOSE,
    ActivityKind,
    ConsentSource,
    ConsentState,
    Contact,
)
from leadflow.contacts.services.consent import ConsentGiven, consent_record_many
from leadflow.contacts.services.contacts import contact_upsert
from leadflow.contacts.services.leads_fast import FastRows, fast_path_applies, lead_insert_fast
from leadflow.contacts.services.lifecycle import contact_stage_promote
from leadflow.core.actors import Actor
from leadflow.core.models import Membership, Workspace


@dataclass(frozen=True)
class Arrival:
    """How one lead arrived: who writes it (``actor``, a system actor such as "form:
    Contact us"), the arrival activity's payload (``submitted``, from
    ``kind_writers.form_submitted_data``), and what the arrival asks for: the lifecycle
    stage (a new lead's, or where a known one moves forward to, recorded with
    ``stage_reason``), the consents given (``consents``; ``consent_granted`` alone is one
    grant of marketing email from a lead source), a default owner for a new lead (ignored
    unless still a member), and rows of the caller's own to write in the fast path's
    statement (``fast_rows``; on the general path the caller writes them)."""

    actor: Actor
    submitted: dict[str, Any]
    stage: str = ""
    stage_reason: str = ""
    consent_granted: bool = False
    default_owner_id: int | None = None
    fast_rows: FastRows | None = None
    consents: tuple[ConsentGiven, ...] = ()
    # The arrival activity's kind: a form's submission unless the arrival's app registered
    # its own (chat: each answer is ``chat.answered``).
    kind: str = ActivityKind.FORM_SUBMITTED

    def consents_given(self) -> tuple[ConsentGiven, ...]:
        """The consents to record: ``consents``, or the one grant ``consent_granted`` means."""
        if self.consents or not self.consent_granted:
            return self.consents
        return (
            ConsentGiven(
                purpose=MARKETING_PURPOSE,
                status=ConsentState.GRANTED,
                source=ConsentSource.LEAD_SOURCE,
                source_ref=self.actor.label[:200],
            ),
        )


@dataclass
class LeadReceived:
    """The contact a lead arrived as, whether it is new, the owner a new lead was given
    (the arrival's default owner when still a member), and whether the fast path wrote it
    (``rows_result`` is then the value of the arrival's ``fast_rows``)."""

    contact_id: int
    created: bool
    owner_id: int | None = None
    fast: bool = False
    rows_result: Any = None
    loaded: Contact | None = field(default=None, repr=False)

    @cached_property
    def contact(self) -> Contact:
        return self.loaded or Contact.objects.get(pk=self.contact_id)


def lead_receive(
    *, workspace: Workspace, contact: Mapping[str, Any], arrival: Arrival
) -> LeadReceived:
    """Receive one lead: ``contact`` holds its contact values as ``contact_input_clean``
    takes them (tags, source, medium, campaign and channel included). See the module
    docstring for the guarantees. Joins the caller's transaction without a savepoint of
    its own: a failure (ValidationFailed naming each bad field) aborts the caller's
    transaction, and nothing is written.
    """
    owner_id = _member_or_none(workspace, arrival.default_owner_id)
    with transaction.atomic(savepoint=False):
        if fast_path_applies(contact):
            clean = contact_input_clean(
                workspace=workspace, data=contact, partial=True, custom_fields=[]
            )
            fast = lead_insert_fast(
                workspace_id=workspace.pk,
                clean=clean,
                stage=arrival.stage,
                consents=arrival.consents_given(),
                owner_id=owner_id,
                arrival_kind=arrival.kind,
                arrival_data=arrival.submitted,
                actor_label=arrival.actor.label,
                rows=arrival.fast_rows,
            )
            if fast is not None:
                return LeadReceived(
                    fast.contact_id,
                    created=True,
                    owner_id=owner_id,
                    fast=True,
                    rows_result=fast.rows_result,
                )
        return _receive(workspace, contact, arrival, owner_id)


def _receive(
    workspace: Workspace, contact: Mapping[str, Any], arrival: Arrival, owner_id: int | None
) -> LeadReceived:
    """The general path: any lead, new or known."""
    actor = arrival.actor
    on_create: dict[str, Any] = {}
    if arrival.stage:
        on_create["lifecycle_stage"] = arrival.stage
    if owner_id:
        on_create["owner_id"] = owner_id
    result = contact_upsert(
        workspace=workspace,
        actor=actor,
        data=contact,
        on_create=on_create,
        also_record=[(arrival.kind, arrival.submitted)],
        savepoint=False,
    )
    known = result.contact
    if not result.created:  # a returning lead: move forward, never back
        if arrival.stage:
            contact_stage_promote(
                workspace=workspace,
                contact=known,
                stage=arrival.stage,
                actor=actor,
                reason=arrival.stage_reason,
            )
    given = arrival.consents_given()
    if given:
        # A new lead's consent is part of its arrival (as in the fast path): no activity.
        consent_record_many(
            workspace=workspace,
            entries=[(known.pk, consent) for consent in given],
            actor=actor,
            silent={known.pk} if result.created else (),
            lock=False,  # the upsert holds the contact
        )
        known.refresh_from_db(fields=["consent_status", "updated_at"])
    return LeadReceived(known.pk, created=result.created, owner_id=owner_id, loaded=known)


def _member_or_none(workspace: Workspace, user_id: int | None) -> int | None:
    """The default owner while that person is still a member of the workspace, else None."""
    if user_id and Membership.objects.filter(workspace=workspace, user_id=user_id).exists():
        return user_id
    return None
