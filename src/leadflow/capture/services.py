"""Writes for lead capture: forms, and accepting a public submission.

``submission_accept`` is the one path every embed mode takes (script, iframe, plain HTML,
JSON): it stores the raw submission, upserts the contact, writes the activity and the
consent records in ONE transaction before any 2xx, and schedules side effects on commit.
"""

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.capture import fastpath
from leadflow.capture.antispam import spam_reason
from leadflow.capture.fields import consent_version, form_fields_clean, submission_values_clean
from leadflow.capture.models import ConsentRecord, Form, FormStatus, Submission, SubmissionStatus
from leadflow.contacts import services as contact_services
from leadflow.contacts.inputs import contact_input_clean
from leadflow.contacts.models import ActivityKind, ConsentStatus, CustomField, LifecycleStage
from leadflow.core.actors import Actor
from leadflow.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Membership, Workspace
from leadflow.core.origins import origin_clean
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.tracking.channels import classify

FORM_SETTINGS = (
    "name",
    "submit_label",
    "success_message",
    "redirect_url",
    "notify_user_ids",
    "notify_owner",
    "tags",
    "lifecycle_stage",
    "source_label",
    "allowed_origins",
    "double_opt_in",
    "proof_of_work",
    "min_fill_seconds",
    "status",
)
OPTIN_SALT = "leadflow.capture.double-opt-in"
TEXT_LIMITS = {
    "name": 200,
    "submit_label": 100,
    "success_message": 5000,
    "redirect_url": 2000,
    "source_label": 200,
}


class FormGone(DomainError):
    status = 410
    code = "form_disabled"
    title = "Gone"


# --- forms ------------------------------------------------------------------------------


def _form_settings_clean(workspace: Workspace, data: dict[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key in data:
        if key not in (*FORM_SETTINGS, "fields"):
            errors.append(FieldError(key, "Unknown field."))
    for key in FORM_SETTINGS:
        if key in data and data[key] is not None:
            clean[key] = data[key]
    if "name" in clean and not str(clean["name"]).strip():
        errors.append(FieldError("name", "A form needs a name."))
    for key, limit in TEXT_LIMITS.items():
        if key in clean and (not isinstance(clean[key], str) or len(clean[key]) > limit):
            errors.append(FieldError(key, f"Text of at most {limit} characters."))
    if "status" in clean and clean["status"] not in FormStatus.values:
        errors.append(FieldError("status", "Choose active or disabled."))
    if clean.get("lifecycle_stage") and clean["lifecycle_stage"] not in LifecycleStage.values:
        errors.append(FieldError("lifecycle_stage", "Choose a lifecycle stage."))
    if clean.get("redirect_url"):
        try:
            URLValidator(schemes=["http", "https"])(str(clean["redirect_url"]))
        except DjangoValidationError:
            errors.append(FieldError("redirect_url", "Use a full http(s) URL."))
    if "allowed_origins" in clean:
        origins = clean["allowed_origins"]
        if not isinstance(origins, list):
            errors.append(FieldError("allowed_origins", "A list of origins."))
        else:
            cleaned = []
            for origin in origins:
                try:
                    cleaned.append(origin_clean(origin))
                except ValueError:
                    errors.append(
                        FieldError(
                            "allowed_origins",
                            f"'{str(origin)[:80]}' is not an origin such as "
                            "https://www.example.com.",
                        )
                    )
            clean["allowed_origins"] = list(dict.fromkeys(cleaned))
    if "notify_user_ids" in clean:
        ids = clean["notify_user_ids"]
        members = set(
            Membership.objects.filter(workspace=workspace).values_list("user_id", flat=True)
        )
        if not isinstance(ids, list) or not all(isinstance(i, int) and i in members for i in ids):
            errors.append(FieldError("notify_user_ids", "Members of this workspace only."))
    if "tags" in clean and (
        not isinstance(clean["tags"], list)
        or not all(isinstance(tag, str) and 0 < len(tag) <= 60 for tag in clean["tags"])
    ):
        errors.append(FieldError("tags", "A list of text."))
    if "min_fill_seconds" in clean and not (
        isinstance(clean["min_fill_seconds"], int) and 0 <= clean["min_fill_seconds"] <= 60
    ):
        errors.append(FieldError("min_fill_seconds", "A whole number from 0 to 60."))
    if "fields" in data:
        keys = set(CustomField.objects.filter(workspace=workspace).values_list("key", flat=True))
        try:
            clean["fields"] = form_fields_clean(data["fields"], keys)
        except ValidationFailed as failure:
            errors += failure.errors
    if errors:
        raise ValidationFailed(errors)
    return clean


@transaction.atomic
def form_create(*, workspace: Workspace, data: dict[str, Any], actor: Actor) -> Form:
    errors: list[FieldError] = []
    if not str(data.get("name") or "").strip():
        errors.append(FieldError("name", "A form needs a name."))
    if "fields" not in data:
        errors.append(FieldError("fields", "A form needs at least one field."))
    try:
        clean = _form_settings_clean(workspace, data)
    except ValidationFailed as failure:
        errors += [error for error in failure.errors if error not in errors]
    if errors:
        raise ValidationFailed(errors)
    form = Form.objects.create(workspace=workspace, **clean)
    contact_services.tags_ensure(workspace=workspace, names=form.tags)
    audit_record(workspace=workspace, actor=actor, action="form.created", obj=form)
    return form


@transaction.atomic
def form_update(*, workspace: Workspace, form_id: int, data: dict[str, Any], actor: Actor) -> Form:
    form = Form.objects.select_for_update().filter(workspace=workspace, pk=form_id).first()
    if form is None:
        raise NotFound("No such form.")
    clean = _form_settings_clean(workspace, data)
    for key, value in clean.items():
        setattr(form, key, value)
    form.updated_at = timezone.now()
    form.save()
    contact_services.tags_ensure(workspace=workspace, names=form.tags)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="form.updated",
        obj=form,
        changes={key: "changed" for key in clean},
    )
    return form


@transaction.atomic
def form_delete(*, workspace: Workspace, form_id: int, actor: Actor) -> None:
    """Delete a form and its submissions; the contacts and their timelines stay."""
    form = Form.objects.filter(workspace=workspace, pk=form_id).first()
    if form is None:
        raise NotFound("No such form.")
    audit_record(workspace=workspace, actor=actor, action="form.deleted", obj=form)
    form.delete()


# --- submissions ----------------------------------------------------------------------------


@dataclass
class SubmissionInput:
    """A submission as received by a public endpoint, before any check."""

    fields: dict[str, Any]
    submission_id: uuid.UUID | None = None
    page_url: str = ""
    referrer: str = ""
    utm: dict[str, str] = field(default_factory=dict)
    visitor_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    honeypot: str = ""
    token: str | None = None
    pow_nonce: str = ""
    token_required: bool = True
    base_url: str = ""


@dataclass
class SubmissionOutcome:
    status_code: int
    body: dict[str, Any]
    submission: Submission
    replayed: bool = False


class _LostRace(Exception):
    pass


def _answer(form: Form, submission_id: uuid.UUID) -> dict[str, Any]:
    return {
        "status": "accepted",
        "submission_id": str(submission_id),
        "message": form.success_message,
        "redirect_url": form.redirect_url or None,
    }


def _replay(form: Form, submission_id: uuid.UUID) -> SubmissionOutcome | None:
    stored = Submission.objects.filter(form=form, submission_id=submission_id).first()
    if stored is None:
        return None
    return SubmissionOutcome(
        status_code=200, body=stored.response, submission=stored, replayed=True
    )


def _contact_data(form: Form, values: dict[str, Any], data: SubmissionInput) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for definition in form.fields:
        target = definition.get("maps_to")
        value = values.get(definition["name"])
        if not target or value in (None, "", []):
            continue
        if target.startswith("custom_fields."):
            custom[target.removeprefix("custom_fields.")] = value
        else:
            contact[target] = value
    if custom:
        contact["custom_fields"] = custom
    if form.tags:
        contact["tags"] = list(form.tags)
    utm = data.utm or {}
    if utm or data.referrer:
        touch = classify(utm=utm, click_ids={}, referrer=data.referrer, landing_page=data.page_url)
        contact.update(
            source=touch.source, medium=touch.medium, campaign=touch.campaign, channel=touch.channel
        )
    else:
        contact.update(
            source=(form.source_label or "form")[:200], medium="form", campaign="", channel="direct"
        )
    return contact


def _store(form: Form, data: SubmissionInput, submission_id: uuid.UUID, **row) -> Submission:
    """Insert the submission; a duplicate submission_id aborts the whole transaction (no
    savepoint needed: the caller rolls everything back and replays the stored answer)."""
    try:
        return Submission.objects.create(
            workspace_id=form.workspace_id,
            form=form,
            submission_id=submission_id,
            payload=data.fields,
            ip=data.ip,
            user_agent=data.user_agent[:500],
            page_url=data.page_url[:2000],
            referrer=data.referrer[:2000],
            utm=data.utm,
            visitor_id=data.visitor_id[:100],
            **row,
        )
    except IntegrityError:
        raise _LostRace from None


def submission_accept(*, form: Form, data: SubmissionInput) -> SubmissionOutcome:
    """Accept one public submission; see the module docstring for the guarantees.

    Answers 201 for a new submission (or an apparent success for spam), 200 replaying the
    first answer for a retry with the same submission_id, ValidationFailed (422) naming
    every bad field with nothing written, FormGone (410) for a disabled form.
    """
    if form.status != FormStatus.ACTIVE:
        raise FormGone("This form no longer accepts submissions.")
    submission_id = data.submission_id or uuid.uuid4()
    try:
        with transaction.atomic():
            return _accept(form, data, submission_id)
    except _LostRace:  # this submission_id is stored already: replay its first answer
        replay = _replay(form, submission_id)
        assert replay is not None  # the winner committed: that is why we lost
        return replay


def _accept(form: Form, data: SubmissionInput, submission_id: uuid.UUID) -> SubmissionOutcome:
    body = _answer(form, submission_id)
    reason = spam_reason(
        form,
        honeypot=data.honeypot,
        token=data.token,
        pow_nonce=data.pow_nonce,
        token_required=data.token_required,
    )
    if reason:
        submission = _store(
            form,
            data,
            submission_id,
            status=SubmissionStatus.SPAM,
            spam_reason=reason,
            response=body,
        )
        return SubmissionOutcome(status_code=201, body=body, submission=submission)
    workspace = form.workspace
    values = submission_values_clean(
        form.fields, data.fields, default_country=workspace.default_country, context_utm=data.utm
    )
    consents = [
        definition
        for definition in form.fields
        if definition["type"] == "consent" and values.get(definition["name"])
    ]
    actor = Actor.system(f"form: {form.name}"[:200])
    on_create = {"consent_status": ConsentStatus.GRANTED} if consents else {}
    if form.lifecycle_stage:
        on_create["lifecycle_stage"] = form.lifecycle_stage
    submitted = {
        "form_id": form.pk,
        "form": form.name,
        "submission_id": str(submission_id),
        "page_url": data.page_url[:2000],
        "referrer": data.referrer[:2000],
        "utm": data.utm,
        "values": values,
    }
    contact_data = _contact_data(form, values, data)
    if fastpath.eligible(contact_data):
        clean = contact_input_clean(
            workspace=workspace, data=contact_data, partial=True, custom_fields=[]
        )
        fast = fastpath.new_lead_insert(
            form=form,
            contact={**clean, **on_create},
            submitted=submitted,
            actor_label=actor.label[:200],
            consents=[
                {
                    "field_name": d["name"],
                    "text": d["consent_text"],
                    "version": consent_version(d["consent_text"]),
                }
                for d in consents
            ],
            submission={
                "submission_id": submission_id,
                "payload": json.dumps(data.fields),
                "values": json.dumps(values),
                "ip": data.ip,
                "user_agent": data.user_agent[:500],
                "page_url": data.page_url[:2000],
                "referrer": data.referrer[:2000],
                "utm": json.dumps(data.utm),
                "visitor_id": data.visitor_id[:100],
                "response": json.dumps(body),
            },
        )
        if fast is not None:
            if data.visitor_id:
                _visitor_link(workspace, data.visitor_id, fast.contact_id)
            # Duplicates were listed in the statement; queue work only when there is some.
            if form.notify_user_ids or (form.double_opt_in and consents):
                from leadflow.capture import tasks

                task_schedule(tasks.submission_followup, fast.submission_pk, data.base_url)
            return SubmissionOutcome(
                status_code=201, body=body, submission=Submission(pk=fast.submission_pk)
            )
    result = contact_services.contact_upsert(
        workspace=workspace,
        actor=actor,
        data=contact_data,
        on_create=on_create,
        also_record=[(ActivityKind.FORM_SUBMITTED, submitted)],
        find_duplicates=False,
        savepoint=False,
    )
    contact = result.contact
    if not result.created:  # a returning lead: move forward, never back
        if form.lifecycle_stage:
            contact_services.contact_stage_promote(
                workspace=workspace,
                contact=contact,
                stage=form.lifecycle_stage,
                actor=actor,
                reason=f"form {form.name}",
            )
        if consents and contact.consent_status != ConsentStatus.CONFIRMED:
            contact_services.contact_consent_set(
                workspace=workspace, contact=contact, status=ConsentStatus.GRANTED, actor=actor
            )
    if data.visitor_id:
        _visitor_link(workspace, data.visitor_id, contact.pk)
    submission = _store(
        form,
        data,
        submission_id,
        status=SubmissionStatus.ACCEPTED,
        contact=contact,
        values=values,
        response=body,
    )
    if consents:
        ConsentRecord.objects.bulk_create(
            [
                ConsentRecord(
                    workspace=workspace,
                    contact=contact,
                    form=form,
                    submission=submission,
                    field_name=definition["name"],
                    text=definition["consent_text"],
                    version=consent_version(definition["consent_text"]),
                    ip=data.ip,
                    page_url=data.page_url[:2000],
                )
                for definition in consents
            ]
        )
    from leadflow.capture import tasks

    task_schedule(tasks.submission_followup, submission.pk, data.base_url)
    return SubmissionOutcome(status_code=201, body=body, submission=submission)


def _visitor_link(workspace: Workspace, visitor_key: str, contact_id: int) -> None:
    """The browser that filled the form becomes part of the lead's history."""
    from leadflow.tracking.services import visitor_link_by_key

    visitor_link_by_key(
        workspace=workspace, visitor_key=visitor_key, contact_id=contact_id, reason="form"
    )


def optin_token(submission: Submission) -> str:
    return signing.dumps({"s": submission.pk}, salt=OPTIN_SALT, compress=False)


@transaction.atomic
def optin_confirm(*, token: str) -> Submission:
    """Confirm consent from the signed link in the double opt-in email. Safe to click twice."""
    try:
        data = signing.loads(token, salt=OPTIN_SALT, max_age=30 * 24 * 3600)
    except signing.SignatureExpired:
        raise ValidationFailed([FieldError("token", "This link has expired.")]) from None
    except signing.BadSignature:
        raise NotFound("This confirmation link is not valid.") from None
    submission = (
        Submission.objects.select_related("contact", "form", "workspace")
        .filter(pk=data.get("s"))
        .first()
    )
    if submission is None or submission.contact is None:
        raise NotFound("This confirmation link is not valid.")
    now = timezone.now()
    updated = ConsentRecord.objects.filter(submission=submission, confirmed_at__isnull=True).update(
        confirmed_at=now
    )
    if updated:
        actor = Actor.system("double opt-in")
        contact_services.contact_consent_set(
            workspace=submission.workspace,
            contact=submission.contact,
            status=ConsentStatus.CONFIRMED,
            actor=actor,
        )
    return submission
