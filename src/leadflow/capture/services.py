"""Writes for lead capture: forms, and accepting a public submission.

``submission_accept`` is the one path every embed mode takes (script, iframe, plain HTML,
JSON): it stores the raw submission, upserts the contact, writes the activity and the
consent records in ONE transaction before any 2xx, and schedules side effects on commit.

Longer than the house's ~600 lines: forms and the acceptance of a submission (spam checks,
held submissions, release, opt-in) share the form's settings and the submission's life
cycle.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.capture import fastpath, magnet_links, magnets
from leadflow.capture.antispam import SOFT_REASONS, spam_reason
from leadflow.capture.fields import consent_version, form_fields_clean, submission_values_clean
from leadflow.capture.models import (
    ConsentRecord,
    Form,
    FormStatus,
    Magnet,
    MagnetGrant,
    Submission,
    SubmissionStatus,
)
from leadflow.contacts import services as contact_services
from leadflow.contacts.consent import consent_purposes
from leadflow.contacts.kind_writers import form_submitted_data
from leadflow.contacts.models import (
    MARKETING_PURPOSE,
    ConsentSource,
    CustomField,
    LifecycleStage,
)
from leadflow.contacts.services import FastRows
from leadflow.core.actors import Actor
from leadflow.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.origins import origin_clean
from leadflow.core.publickit import UTM_KEYS, UTM_MAX_LENGTH
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id, member_users
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.tracking.channels import classify
from leadflow.tracking.services import CLICK_IDS, visitor_link_by_key

FORM_SETTINGS = (
    "name",
    "submit_label",
    "success_message",
    "redirect_url",
    "notify_user_ids",
    "notify_owner",
    "default_owner_id",
    "tags",
    "lifecycle_stage",
    "source_label",
    "allowed_origins",
    "double_opt_in",
    "proof_of_work",
    "min_fill_seconds",
    "status",
    "magnet_id",
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
            member_users(workspace, permission=LEAD_OWNER_PERMISSION).values_list("pk", flat=True)
        )
        if not isinstance(ids, list) or not all(isinstance(i, int) and i in members for i in ids):
            errors.append(
                FieldError("notify_user_ids", "Members of this workspace who can own leads only.")
            )
    if "default_owner_id" in data:
        owner_id = data["default_owner_id"]
        if owner_id is not None and not is_member_id(
            workspace, owner_id, permission=LEAD_OWNER_PERMISSION
        ):
            errors.append(
                FieldError("default_owner_id", "Not a member of this workspace who can own leads.")
            )
        else:
            clean["default_owner_id"] = owner_id
    if "tags" in clean and (
        not isinstance(clean["tags"], list)
        or not all(isinstance(tag, str) and 0 < len(tag) <= 60 for tag in clean["tags"])
    ):
        errors.append(FieldError("tags", "A list of text."))
    if "min_fill_seconds" in clean and not (
        isinstance(clean["min_fill_seconds"], int) and 0 <= clean["min_fill_seconds"] <= 60
    ):
        errors.append(FieldError("min_fill_seconds", "A whole number from 0 to 60."))
    if clean.get("magnet_id") is not None and not (
        isinstance(clean["magnet_id"], int)
        and Magnet.objects.filter(workspace=workspace, pk=clean["magnet_id"]).exists()
    ):
        errors.append(FieldError("magnet_id", "No such magnet in this workspace."))
    if "magnet_id" in data and data["magnet_id"] is None:
        clean["magnet_id"] = None
    if "fields" in data:
        keys = set(CustomField.objects.filter(workspace=workspace).values_list("key", flat=True))
        try:
            clean["fields"] = form_fields_clean(
                data["fields"], keys, purposes=consent_purposes(workspace.pk)
            )
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
    changed = [key for key, value in clean.items() if getattr(form, key) != value]
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
        changes={key: "changed" for key in changed},
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
    click_ids = page_click_ids(data.page_url)
    if utm or click_ids or data.referrer:
        touch = classify(
            utm=utm, click_ids=click_ids, referrer=data.referrer, landing_page=data.page_url
        )
        contact.update(
            source=touch.source, medium=touch.medium, campaign=touch.campaign, channel=touch.channel
        )
    else:
        contact.update(
            source=(form.source_label or "form")[:200], medium="form", campaign="", channel="direct"
        )
    return contact


def _page_query(page_url: str) -> dict[str, str]:
    try:
        query = urlsplit(page_url).query
    except ValueError:
        return {}
    return {key: values[0] for key, values in parse_qs(query).items() if values and values[0]}


def page_utm(page_url: str) -> dict[str, str]:
    """The UTM tags in a page's query string (what an iframe or plain form's page had)."""
    query = _page_query(page_url)
    return {key: query[key][:UTM_MAX_LENGTH] for key in UTM_KEYS if key in query}


def page_click_ids(page_url: str) -> dict[str, str]:
    """The ad click ids (gclid, fbclid, msclkid, li_fat_id) in a page's query string."""
    query = _page_query(page_url)
    return {key: query[key][:200] for key in CLICK_IDS if key in query}


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
        raise fastpath.SubmissionStoredFirst from None


def submission_accept(*, form: Form, data: SubmissionInput) -> SubmissionOutcome:
    """Accept one public submission; see the module docstring for the guarantees.

    Answers 201 for a new submission (or an apparent success for spam), 200 replaying the
    first answer for a retry with the same submission_id, ValidationFailed (422) naming
    every bad field with nothing written, FormGone (410) for a disabled form.
    """
    if form.status != FormStatus.ACTIVE:
        raise FormGone("This form no longer accepts submissions.")
    if not data.utm:  # the campaign of the page the form was on, when not sent apart
        data = replace(data, utm=page_utm(data.page_url))
    submission_id = data.submission_id or uuid.uuid4()
    try:
        with transaction.atomic():
            return _accept(form, data, submission_id)
    except fastpath.SubmissionStoredFirst:  # stored already: replay its first answer
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
    if reason and reason not in SOFT_REASONS:  # a bot: it learns nothing, not even errors
        submission = _store(
            form,
            data,
            submission_id,
            status=SubmissionStatus.SPAM,
            spam_reason=reason,
            response=body,
        )
        return SubmissionOutcome(status_code=201, body=body, submission=submission)
    values = submission_values_clean(
        form.fields,
        data.fields,
        default_country=form.workspace.default_country,
        context_utm=data.utm,
    )
    if reason:  # probably a quick person: checked like a lead, held for a member to release
        submission = _store(
            form,
            data,
            submission_id,
            status=SubmissionStatus.SUSPECTED,
            spam_reason=reason,
            values=values,
            response=body,
        )
        return SubmissionOutcome(status_code=201, body=body, submission=submission)
    lead = _lead_prepare(form, data, submission_id, values)
    fast_rows = _fast_rows(form, data, submission_id, lead, body)
    submission = _lead_write(
        form,
        data,
        replace(lead, arrival=replace(lead.arrival, fast_rows=fast_rows)),
        store=lambda contact_id: _store(
            form,
            data,
            submission_id,
            status=SubmissionStatus.ACCEPTED,
            contact_id=contact_id,
            values=values,
            response=body,
        ),
    )
    return SubmissionOutcome(status_code=201, body=body, submission=submission)


def _fast_rows(
    form: Form, data: SubmissionInput, submission_id: uuid.UUID, lead: "_Lead", body: dict
) -> FastRows:
    """The submission and consent rows, for the fast path's statement of a new lead."""
    return fastpath.submission_rows(
        form_id=form.pk,
        submission={
            "submission_id": submission_id,
            "payload": json.dumps(data.fields),
            "values": json.dumps(lead.values),
            "ip": data.ip,
            "user_agent": data.user_agent[:500],
            "page_url": data.page_url[:2000],
            "referrer": data.referrer[:2000],
            "utm": json.dumps(data.utm),
            "visitor_id": data.visitor_id[:100],
            "response": json.dumps(body),
        },
        consents=[
            {
                "field_name": d["name"],
                "text": d["consent_text"],
                "version": consent_version(d["consent_text"]),
            }
            for d in lead.consents
        ],
    )


@dataclass
class _Lead:
    """What a submission that passed the checks writes, worked out once."""

    values: dict[str, Any]
    consents: list[dict[str, Any]]
    contact_data: dict[str, Any]
    arrival: contact_services.Arrival


def form_arrival(
    form: Form,
    *,
    submission_id: uuid.UUID,
    page_url: str,
    referrer: str,
    utm: dict[str, str],
    values: dict[str, Any],
    consent_granted: bool = False,
    released_by: str = "",
    consents: tuple[contact_services.ConsentGiven, ...] = (),
) -> contact_services.Arrival:
    """How a lead arrives through ``form``, as ``lead_receive`` takes it: written by the
    system actor "form: <name>", the ``form.submitted`` payload, the form's stage (moving a
    known contact forward with the reason "form <name>"), consent, and its default owner
    for a new lead. The demo builds its history from this too, so the two cannot drift."""
    return contact_services.Arrival(
        actor=Actor.system(f"form: {form.name}"[:200]),
        submitted=form_submitted_data(
            form_id=form.pk,
            form=form.name,
            submission_id=str(submission_id),
            page_url=page_url,
            referrer=referrer,
            utm=utm,
            values=values,
            released_by=released_by,
        ),
        stage=form.lifecycle_stage,
        stage_reason=f"form {form.name}",
        consent_granted=consent_granted,
        consents=consents,
        # A new lead belongs to the form's owner until routing exists.
        default_owner_id=form.default_owner_id,
    )


def form_consents_given(
    form: Form, ticked: list[dict[str, Any]], *, ip: str | None, status: str = "granted"
) -> list[contact_services.ConsentGiven]:
    """The consent ledger rows of a form's ticked consent boxes: each box's purpose
    (``consent_purpose``, marketing email by default), its exact text and version, the form
    as the source and the visitor's address. ``status`` "confirmed" for the double opt-in."""
    return [
        contact_services.ConsentGiven(
            purpose=definition.get("consent_purpose") or MARKETING_PURPOSE,
            status=status,
            source=ConsentSource.FORM if status == "granted" else ConsentSource.DOUBLE_OPT_IN,
            text=definition["consent_text"],
            version=consent_version(definition["consent_text"]),
            source_ref=f"form {form.pk}: {form.name}"[:200],
            ip=ip,
        )
        for definition in ticked
    ]


def _lead_prepare(
    form: Form,
    data: SubmissionInput,
    submission_id: uuid.UUID,
    values: dict[str, Any],
    *,
    released_by: str = "",
) -> _Lead:
    consents = [
        definition
        for definition in form.fields
        if definition["type"] == "consent" and values.get(definition["name"])
    ]
    arrival = form_arrival(
        form,
        submission_id=submission_id,
        page_url=data.page_url,
        referrer=data.referrer,
        utm=data.utm,
        values=values,
        released_by=released_by,
        consents=tuple(form_consents_given(form, consents, ip=data.ip)),
    )
    return _Lead(
        values=values,
        consents=consents,
        contact_data=_contact_data(form, values, data),
        arrival=arrival,
    )


def _lead_write(
    form: Form, data: SubmissionInput, lead: _Lead, *, store: Callable[[int], Submission]
) -> Submission:
    """The path of a lead, for a new submission and for a released one alike: the lead
    received by contacts (``lead_receive``: the contact, its stage, consent and arrival
    activity), the visitor link, the submission row (``store`` inserts it, or turns the
    held row into an accepted one), the consent records and the follow-up task
    (notifications, double opt-in, duplicates)."""
    workspace = form.workspace
    received = contact_services.lead_receive(
        workspace=workspace, contact=lead.contact_data, arrival=lead.arrival
    )
    if data.visitor_id:
        _visitor_link(workspace, data.visitor_id, received.contact_id)
    if received.fast and lead.arrival.fast_rows is not None:  # written in its statement
        if received.rows_result is None:  # the same submission_id was stored first
            raise fastpath.SubmissionStoredFirst
        submission = Submission(pk=received.rows_result)
    else:
        submission = store(received.contact_id)
        _consents_record(form, data, lead, submission, received.contact_id)
    # A double opt-in form delivers its magnet on confirmation (``optin_confirm``).
    if form.magnet_id and not form.double_opt_in:
        magnets.form_magnet_grant(
            magnet_id=form.magnet_id,
            contact_id=received.contact_id,
            submission_id=submission.pk,
            base_url=data.base_url,
        )
    # The fast path listed the duplicates in its statement: queue work only when there is some.
    notify = form.notify_user_ids or (form.notify_owner and received.owner_id)
    opt_in = form.double_opt_in and (lead.consents or form.magnet_id)
    if not received.fast or notify or opt_in:
        task_schedule("leadflow.capture.tasks.submission_followup", submission.pk, data.base_url)
    return submission


def _consents_record(
    form: Form, data: SubmissionInput, lead: _Lead, submission: Submission, contact_id: int
) -> None:
    """The consent records of a submission the general path stored."""
    if lead.consents:
        ConsentRecord.objects.bulk_create(
            [
                ConsentRecord(
                    workspace_id=form.workspace_id,
                    contact_id=contact_id,
                    form=form,
                    submission=submission,
                    field_name=definition["name"],
                    text=definition["consent_text"],
                    version=consent_version(definition["consent_text"]),
                    ip=data.ip,
                    page_url=data.page_url[:2000],
                )
                for definition in lead.consents
            ]
        )


def submission_release(
    *, workspace: Workspace, form_id: int, submission_pk: int, actor: Actor, base_url: str = ""
) -> Submission:
    """Release a suspected or spam submission as the lead it is ("not spam").

    It takes the path of any accepted submission (``_lead_write``): the contact upserted
    with its ``form.submitted`` activity, the form's tags, stage and consent, the consent
    records, the visitor link, the notification and double opt-in emails. The held row
    becomes accepted (with ``released_at`` and ``released_by``; ``spam_reason`` keeps why
    it was held) and an audit entry says who released it. Safe to repeat: the row is
    locked, and an accepted one is returned unchanged, so a double click or a retried
    request writes once. The answers are checked against the form's rules as they are
    now: failing ones answer ValidationFailed (422) and nothing changes. Another
    workspace's submission is NotFound.
    """
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update()
            .filter(workspace=workspace, form_id=form_id, pk=submission_pk)
            .first()
        )
        if submission is None:
            raise NotFound("No such submission.")
        if submission.status == SubmissionStatus.ACCEPTED:
            return submission
        form = Form.objects.select_related("workspace").get(pk=form_id)
        payload = submission.payload if isinstance(submission.payload, dict) else {}
        data = SubmissionInput(
            fields=payload,
            submission_id=submission.submission_id,
            page_url=submission.page_url,
            referrer=submission.referrer,
            utm=submission.utm if isinstance(submission.utm, dict) else {},
            visitor_id=submission.visitor_id,
            ip=submission.ip,
            user_agent=submission.user_agent,
            base_url=base_url,
        )
        values = submission_values_clean(
            form.fields, payload, default_country=workspace.default_country, context_utm=data.utm
        )
        held_as = submission.status
        now = timezone.now()
        lead = _lead_prepare(
            form, data, submission.submission_id, values, released_by=actor.label[:200]
        )

        def accept_held(contact_id: int) -> Submission:
            submission.status = SubmissionStatus.ACCEPTED
            submission.contact_id = contact_id
            submission.values = values
            submission.released_at = now
            submission.released_by = actor.label[:200]
            submission.save(
                update_fields=["status", "contact", "values", "released_at", "released_by"]
            )
            return submission

        _lead_write(form, data, lead, store=accept_held)
        audit_record(
            workspace=workspace,
            actor=actor,
            action="submission.released",
            obj=submission,
            changes={
                "status": [held_as, SubmissionStatus.ACCEPTED],
                "reason": submission.spam_reason,
            },
        )
    return submission


def _visitor_link(workspace: Workspace, visitor_key: str, contact_id: int) -> None:
    """The browser that filled the form becomes part of the lead's history."""
    visitor_link_by_key(
        workspace=workspace, visitor_key=visitor_key, contact_id=contact_id, reason="form"
    )


def optin_token(submission: Submission) -> str:
    return signing.dumps({"s": submission.pk}, salt=OPTIN_SALT, compress=False)


@transaction.atomic
def optin_confirm(*, token: str, ip: str | None = None, base_url: str = "") -> Submission:
    """Confirm consent from the signed link in the double opt-in email, and deliver the
    form's magnet (once). Safe to click twice."""
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
        # The purposes of the boxes ticked on that submission become confirmed.
        names = set(submission.consents.values_list("field_name", flat=True))
        ticked = [
            d for d in submission.form.fields if d["type"] == "consent" and d["name"] in names
        ]
        contact_services.consent_record_many(
            workspace=submission.workspace,
            entries=[
                (submission.contact_id, given)
                for given in form_consents_given(submission.form, ticked, ip=ip, status="confirmed")
            ]
            or [
                (
                    submission.contact_id,
                    contact_services.ConsentGiven(
                        purpose=MARKETING_PURPOSE,
                        status="confirmed",
                        source=ConsentSource.DOUBLE_OPT_IN,
                        source_ref=f"form {submission.form_id}",
                        ip=ip,
                    ),
                )
            ],
            actor=Actor.system("double opt-in"),
        )
    if submission.form.magnet_id:  # the magnet waited for this confirmation
        magnets.form_magnet_grant(
            magnet_id=submission.form.magnet_id,
            contact_id=submission.contact_id,
            submission_id=submission.pk,
            base_url=base_url,
        )
    return submission


def submission_magnet(
    *, form: Form, submission_pk: int, base_url: str, confirmed: bool = False
) -> magnet_links.Delivered | None:
    """What the thank-you screen shows of the magnet a submission earned: its link (and
    code or seat), None without one (or for a submission held as spam or suspected: a bot
    learns nothing). A double opt-in form's thank-you screen only says it comes after the
    confirmation ("pending"), even when the lead has it already: whoever typed an address
    sees its link only from that mailbox (``confirmed``: the confirmation page)."""
    if not form.magnet_id:
        return None
    if form.double_opt_in and not confirmed:
        magnet = Magnet.objects.filter(pk=form.magnet_id, active=True).first()
        if magnet is None:
            return None
        return magnet_links.Delivered(name=magnet.name, kind=magnet.kind, link="", pending=True)
    contact_id = (
        Submission.objects.filter(pk=submission_pk, status=SubmissionStatus.ACCEPTED)
        .values_list("contact_id", flat=True)
        .first()
    )
    if contact_id is None:
        return None
    grant = (
        MagnetGrant.objects.select_related("magnet")
        .filter(magnet_id=form.magnet_id, contact_id=contact_id)
        .first()
    )
    return magnet_links.delivered(grant, base_url) if grant is not None else None
