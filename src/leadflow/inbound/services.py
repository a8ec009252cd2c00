"""Writes for inbound lead webhooks: lead sources, accepting a delivery, replaying one.

``delivery_receive`` is the one path every pushed lead takes. A verified delivery with a
good lead is stored and received as a lead (``contacts.services.lead_receive``: the same
dedupe and arrival rules as every entry point) in ONE transaction before any 2xx. A bad
lead rolls that back and is kept as ``rejected`` with the reasons, for replay after the
mapping is fixed.
A request that does not prove the secret is kept as ``unverified`` (capped, truncated) and
never creates a contact, unless an admin forces its replay.

Longer than the house's ~600 lines: the whole acceptance of a delivery (claim, proof,
mapping, lead_receive, replay) reads top to bottom as one transaction's story; the network
parsers already live in formats.py.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from leadflow.contacts import services as contact_services
from leadflow.contacts.kind_writers import form_submitted_data
from leadflow.contacts.models import CustomField, LifecycleStage
from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from leadflow.core.models import ApiScope, Workspace
from leadflow.core.ratelimit import rate_limit_hit
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.services import audit_record
from leadflow.core.tasks import task_schedule
from leadflow.inbound import formats
from leadflow.inbound.models import (
    Delivery,
    DeliveryStatus,
    LeadSource,
    SourceFormat,
    new_source_secret,
)

# Unverified requests are kept for diagnosis, but an attacker must not fill the database:
# at most this many per source and hour, each cut to this many bytes.
UNVERIFIED_KEPT_PER_HOUR = 100
UNVERIFIED_BODY_LIMIT = 16 * 1024
# After a rotation the previous secret keeps working this long.
ROTATION_GRACE = dt.timedelta(hours=24)
MAX_TAGS = 20
# Attribution ids as they are named on the timeline ("form" there is the form's label).
ID_KEYS = {"ad": "ad_id", "adset": "adset_id", "form": "form_id", "page": "page_id"}
FORM_LABELS = {
    SourceFormat.FACEBOOK: "Facebook lead form",
    SourceFormat.LINKEDIN: "LinkedIn lead form",
    SourceFormat.GOOGLE: "Google Ads lead form",
}


def max_body_bytes() -> int:
    """The largest body a lead source accepts (a lead is a few kilobytes)."""
    return min(
        getattr(settings, "LEADFLOW_INBOUND_MAX_BODY_BYTES", 256 * 1024),
        settings.LEADFLOW_MAX_BODY_BYTES,
    )


# --- lead sources ---------------------------------------------------------------------------


def _source_clean(
    workspace: Workspace, data: Mapping[str, Any], *, source_format: str | None, creating: bool
) -> dict[str, Any]:
    allowed = {
        "name",
        "format",
        "app_secret",
        "mapping",
        "default_tags",
        "default_lifecycle_stage",
        "default_owner_id",
        "is_active",
    }
    errors = [FieldError(key, "Unknown field.") for key in data if key not in allowed]
    clean: dict[str, Any] = {}
    if "name" in data or creating:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError("name", "A lead source needs a name."))
        elif len(name.strip()) > 200:
            errors.append(FieldError("name", "At most 200 characters."))
        else:
            clean["name"] = name.strip()
    if creating:
        if data.get("format") not in SourceFormat.values:
            errors.append(FieldError("format", f"Choose one of: {', '.join(SourceFormat.values)}."))
        else:
            source_format = clean["format"] = data["format"]
    elif "format" in data and data["format"] != source_format:
        errors.append(FieldError("format", "A source keeps its format: create another source."))
    if "app_secret" in data:
        secret = data["app_secret"]
        if secret is not None and (not isinstance(secret, str) or len(secret) > 200):
            errors.append(FieldError("app_secret", "Text of at most 200 characters."))
        else:
            clean["app_secret"] = (secret or "").strip()
    if "mapping" in data and source_format:
        try:
            clean["mapping"] = formats.mapping_clean(
                source_format,
                data["mapping"],
                list(CustomField.objects.filter(workspace=workspace)),
            )
        except ValidationFailed as failure:
            errors += failure.errors
    if "default_tags" in data:
        tags = data["default_tags"] or []
        if not isinstance(tags, list) or not all(
            isinstance(tag, str) and 0 < len(tag.strip()) <= 60 for tag in tags
        ):
            errors.append(FieldError("default_tags", "A list of tags (each 1-60 characters)."))
        elif len(tags) > MAX_TAGS:
            errors.append(FieldError("default_tags", f"At most {MAX_TAGS} tags."))
        else:
            clean["default_tags"] = list(dict.fromkeys(tag.strip() for tag in tags))
    if "default_lifecycle_stage" in data:
        stage = data["default_lifecycle_stage"] or ""
        if stage and stage not in LifecycleStage.values:
            errors.append(FieldError("default_lifecycle_stage", "Choose a lifecycle stage."))
        else:
            clean["default_lifecycle_stage"] = stage
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
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors.append(FieldError("is_active", "true or false."))
        else:
            clean["is_active"] = data["is_active"]
    if errors:
        raise ValidationFailed(errors)
    return clean


@transaction.atomic
def lead_source_create(
    *, workspace: Workspace, data: Mapping[str, Any], actor: Actor
) -> LeadSource:
    """A new lead source with a fresh URL key and secret."""
    clean = _source_clean(workspace, data, source_format=None, creating=True)
    source = LeadSource.objects.create(workspace=workspace, **clean)
    return _source_saved(workspace, actor, source, clean, "lead_source.created")


def _source_saved(
    workspace: Workspace, actor: Actor, source: LeadSource, clean: dict[str, Any], action: str
) -> LeadSource:
    """The default tags exist before the first lead; the audit log says what changed
    (never a secret)."""
    contact_services.tags_ensure(workspace=workspace, names=source.default_tags)
    changes = {key: "set" if key == "app_secret" else value for key, value in clean.items()}
    audit_record(workspace=workspace, actor=actor, action=action, obj=source, changes=changes)
    return source


def _source_for_write(workspace: Workspace, source_id: int) -> LeadSource:
    source = (
        LeadSource.objects.select_for_update().filter(workspace=workspace, pk=source_id).first()
    )
    if source is None:
        raise NotFound("No such lead source.")
    return source


@transaction.atomic
def lead_source_update(
    *, workspace: Workspace, source_id: int, data: Mapping[str, Any], actor: Actor
) -> LeadSource:
    """Change a source's name, mapping, defaults, app secret or active flag. Stored
    deliveries keep their outcome; replay them to apply a new mapping."""
    source = _source_for_write(workspace, source_id)
    clean = _source_clean(workspace, data, source_format=source.format, creating=False)
    for key, value in clean.items():
        setattr(source, key, value)
    source.updated_at = timezone.now()
    source.save()
    return _source_saved(workspace, actor, source, clean, "lead_source.updated")


@transaction.atomic
def lead_source_rotate_secret(*, workspace: Workspace, source_id: int, actor: Actor) -> LeadSource:
    """A new secret; the previous one keeps working for ROTATION_GRACE so the sender can be
    updated without losing leads (rotating again ends the grace of the older one)."""
    source = _source_for_write(workspace, source_id)
    source.previous_secret = source.secret
    source.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
    source.secret = new_source_secret()
    source.updated_at = timezone.now()
    source.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        action="lead_source.secret_rotated",
        obj=source,
        changes={"previous_secret_valid_until": source.previous_secret_expires_at.isoformat()},
    )
    return source


@transaction.atomic
def lead_source_delete(*, workspace: Workspace, source_id: int, actor: Actor) -> None:
    """Delete a source and its delivery log; the contacts and their timelines stay."""
    source = _source_for_write(workspace, source_id)
    audit_record(workspace=workspace, actor=actor, action="lead_source.deleted", obj=source)
    source.delete()


# --- deliveries -------------------------------------------------------------------------------


@dataclass
class DeliveryOutcome:
    """What a delivery (or a replay) came to, and how the endpoint answers it."""

    status_code: int
    delivery: Delivery | None
    result: str  # accepted | duplicate | needs_fetch | rejected | unverified | ...
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    created: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code < 300

    def body(self) -> dict[str, Any]:
        delivery = self.delivery
        return {
            "status": self.result,
            "delivery_id": delivery.pk if delivery else None,
            "lead_id": delivery.external_lead_id if delivery else None,
            "contact_id": delivery.contact_id if delivery else None,
            **({"detail": self.detail} if self.detail else {}),
        }


class _LostRace(Exception):
    """Another request claimed this lead id first; retry and find its row."""


def _reasons(errors: list[FieldError]) -> list[dict[str, str]]:
    return [error.as_dict() for error in errors]


def _body_text(body: bytes, limit: int | None = None) -> tuple[str, bool]:
    """The body as it is kept in the log: text, with the NUL bytes no database text holds
    shown as U+FFFD (a JSON body has none: JSON escapes them, so replay is unchanged)."""
    truncated = limit is not None and len(body) > limit
    if truncated:
        text = body[:limit].decode("utf-8", errors="ignore")
    else:
        text = body.decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd"), truncated


def delivery_receive(
    *,
    source: LeadSource,
    body: bytes,
    headers: Mapping[str, str],
    ip: str | None,
    base_url: str = "",
) -> DeliveryOutcome:
    """Accept one pushed request; see the module docstring for the guarantees.

    Answers 201 for a new accepted lead, 200 for the same lead id again (the first result,
    nothing stored twice) and for a notification whose lead must be fetched, 401 for an
    unproven sender, 400 for a body that is not JSON, 422 naming every bad field, 410 for
    a switched-off source.
    """
    if not source.is_active:
        return DeliveryOutcome(410, None, "inactive", "This lead source is switched off.")
    payload, not_json = formats.body_json(body)
    problem = formats.signature_problem(source, body, headers, payload)
    if problem:
        return DeliveryOutcome(
            401, _unverified_keep(source, body, headers, ip, problem), "unverified", problem
        )
    text, _ = _body_text(body)
    row = {"body": text, "headers": formats.kept_headers(headers), "ip": ip, "verified": True}
    if not_json:
        errors = [FieldError("body", not_json)]
        delivery = Delivery.objects.create(
            workspace_id=source.workspace_id,
            source=source,
            status=DeliveryStatus.REJECTED,
            reasons=_reasons(errors),
            **row,
        )
        return DeliveryOutcome(400, delivery, "rejected", not_json, errors)
    return _process(
        source,
        payload,
        row,
        existing=None,
        idempotency_key=headers.get("Idempotency-Key"),
        base_url=base_url,
    )


def _unverified_keep(
    source: LeadSource, body: bytes, headers: Mapping[str, str], ip: str | None, problem: str
) -> Delivery | None:
    """Keep an unverified request for diagnosis, within the hourly cap; never its lead id."""
    if rate_limit_hit(
        f"inbound-unverified:{source.pk}", limit=UNVERIFIED_KEPT_PER_HOUR, window_seconds=3600
    ):
        return None
    text, truncated = _body_text(body, UNVERIFIED_BODY_LIMIT)
    return Delivery.objects.create(
        workspace_id=source.workspace_id,
        source=source,
        body=text,
        body_truncated=truncated,
        headers=formats.kept_headers(headers),
        ip=ip,
        status=DeliveryStatus.UNVERIFIED,
        reasons=[{"field": "signature", "message": problem}],
        verified=False,
    )


def _process(
    source: LeadSource,
    payload: Any,
    row: dict[str, Any],
    *,
    existing: Delivery | None,
    idempotency_key: str | None,
    base_url: str = "",
) -> DeliveryOutcome:
    """Parse, map and store a verified payload (a new request, or a replay of ``existing``)."""
    try:
        parsed = formats.parse(source, payload)
    except ValidationFailed as failure:
        return _settle(source, None, row, existing, DeliveryStatus.REJECTED, failure.errors)
    if source.format == SourceFormat.GENERIC and not parsed.lead_id and idempotency_key:
        parsed.lead_id = f"idempotency-key:{idempotency_key[:150]}"
    row = {**row, "attribution": parsed.attribution, "is_test": parsed.is_test}
    if parsed.needs_fetch:
        return _settle(
            source,
            parsed.lead_id,
            row,
            existing,
            DeliveryStatus.NEEDS_FETCH,
            [FieldError("lead", parsed.needs_fetch)],
        )
    mapped = formats.map_lead(source, parsed)
    try:
        return _attempt(
            source,
            parsed.lead_id,
            row,
            existing,
            lambda d: _accept(source, d, parsed, mapped, base_url),
        )
    except ValidationFailed as failure:
        errors = formats.errors_named_for_sender(failure.errors, mapped.origins)
        return _settle(source, parsed.lead_id, row, existing, DeliveryStatus.REJECTED, errors)


def _settle(
    source: LeadSource,
    lead_id: str | None,
    row: dict[str, Any],
    existing: Delivery | None,
    status: str,
    errors: list[FieldError],
) -> DeliveryOutcome:
    """Keep a delivery that did not become a contact, with its reasons."""

    def record(delivery: Delivery) -> DeliveryOutcome:
        delivery.status = status
        delivery.reasons = _reasons(errors)
        delivery.contact = None
        delivery.save()
        if status == DeliveryStatus.NEEDS_FETCH:
            return DeliveryOutcome(200, delivery, "needs_fetch", errors[0].message)
        return DeliveryOutcome(
            422, delivery, "rejected", ValidationFailed(errors).detail, list(errors)
        )

    return _attempt(source, lead_id, row, existing, record)


def _attempt(
    source: LeadSource,
    lead_id: str | None,
    row: dict[str, Any],
    existing: Delivery | None,
    work: Callable[[Delivery], DeliveryOutcome],
) -> DeliveryOutcome:
    """Run ``work`` on the delivery row of this attempt in one transaction, or answer with
    the accepted delivery that holds the same lead id. A lost race for the lead id rolls
    everything back and looks again (the winner has committed by then)."""
    for _ in range(3):
        try:
            with transaction.atomic():
                delivery, accepted_before = _claim(source, lead_id, row, existing)
                if accepted_before is not None:
                    return _duplicate(accepted_before, existing)
                return work(delivery)
        except _LostRace:
            continue
    raise Conflict("This lead is being stored by another request; retry shortly.")


def _claim(
    source: LeadSource, lead_id: str | None, row: dict[str, Any], existing: Delivery | None
) -> tuple[Delivery, Delivery | None]:
    """The locked delivery row this attempt writes, or (.., the accepted delivery of the
    same lead). A re-sent lead that was not accepted before reuses its earlier row."""
    holder = None
    if lead_id:
        holder = (
            Delivery.objects.select_for_update()
            .filter(source=source, external_lead_id=lead_id)
            .first()
        )
    if holder is not None and holder.status == DeliveryStatus.ACCEPTED:
        if existing is None or holder.pk != existing.pk:
            return holder, holder
    now = timezone.now()
    if existing is not None:
        delivery = Delivery.objects.select_for_update().get(pk=existing.pk)
        if lead_id and holder is not None and holder.pk != delivery.pk:
            # An earlier failed delivery of the same lead gives its claim to this replay.
            Delivery.objects.filter(pk=holder.pk).update(external_lead_id=None)
        if lead_id:
            delivery.external_lead_id = lead_id
    elif holder is not None:
        delivery = holder
        delivery.repeat_count += 1
    else:
        delivery = Delivery(
            workspace_id=source.workspace_id, source=source, external_lead_id=lead_id, status=""
        )
    for key, value in row.items():
        setattr(delivery, key, value)
    delivery.last_attempt_at = now
    if delivery.pk is None:
        delivery.status = DeliveryStatus.REJECTED  # until the work below says otherwise
        try:
            delivery.save()
        except IntegrityError:
            raise _LostRace from None
    return delivery, None


def _duplicate(accepted: Delivery, existing: Delivery | None) -> DeliveryOutcome:
    """The same lead again: the first result, and a count of the repeat."""
    if existing is None:
        Delivery.objects.filter(pk=accepted.pk).update(
            repeat_count=F("repeat_count") + 1, last_attempt_at=timezone.now()
        )
        return DeliveryOutcome(200, accepted, "duplicate")
    Delivery.objects.filter(pk=existing.pk).update(
        status=DeliveryStatus.DUPLICATE,
        contact_id=accepted.contact_id,
        reasons=[{"field": "lead_id", "message": f"Same lead as delivery {accepted.pk}."}],
        last_attempt_at=timezone.now(),
    )
    existing.refresh_from_db()
    return DeliveryOutcome(200, existing, "duplicate")


def _accept(
    source: LeadSource,
    delivery: Delivery,
    parsed: formats.ParsedLead,
    mapped: formats.MappedLead,
    base_url: str = "",
) -> DeliveryOutcome:
    """Receive the lead (``contacts.services.lead_receive``: the contact, its stage and the
    lead-form submission on its timeline), mark the delivery accepted; a source with a
    fixed owner who is still a member gets notified of the lead (after commit)."""
    attribution = parsed.attribution
    form = attribution.get("form_name") or attribution.get("form") or ""
    label = FORM_LABELS.get(source.format, source.name)
    submitted = form_submitted_data(
        attribution={ID_KEYS.get(key, key): value for key, value in attribution.items()},
        form=f"{label} {form}".strip()[:200],
        lead_source_id=source.pk,
        lead_source=source.name,
        delivery_id=delivery.pk,
        lead_id=parsed.lead_id,
        test_lead=parsed.is_test,
        values=mapped.answers,
    )
    received = contact_services.lead_receive(
        workspace=source.workspace,
        contact=mapped.contact,
        arrival=contact_services.Arrival(
            actor=Actor.system(f"lead source: {source.name}"[:200]),
            submitted=submitted,
            stage=source.default_lifecycle_stage,
            stage_reason=f"lead source {source.name}",
            default_owner_id=source.default_owner_id,
        ),
    )
    delivery.status = DeliveryStatus.ACCEPTED
    delivery.reasons = []
    delivery.contact_id = received.contact_id
    delivery.save()
    if received.owner_id:
        task_schedule("leadflow.inbound.tasks.delivery_notify", delivery.pk, base_url)
    return DeliveryOutcome(201, delivery, "accepted", created=received.created)


# --- replay -----------------------------------------------------------------------------------


def _may_force(actor: Actor) -> bool:
    """Forcing an unverified delivery in is for admins: owners and admins in the app, API
    keys with settings:write, and the command line (the system actor)."""
    if actor.membership is not None:
        return actor.membership.can("manage_settings")
    if actor.api_key is not None:
        return ApiScope.SETTINGS_WRITE in actor.api_key.scopes
    return actor.user is None


def delivery_replay(
    *,
    workspace: Workspace,
    delivery_id: int,
    actor: Actor,
    source_id: int | None = None,
    force: bool = False,
    base_url: str = "",
) -> DeliveryOutcome:
    """Run a stored delivery's body through its source's current mapping again.

    Idempotent: an accepted delivery is left as it is, and the lead id is claimed once.
    An unverified delivery is checked again with the source's current secrets (say, the
    app secret was wrong and is fixed now); if it still fails, only an admin's ``force``
    lets it in.
    """
    deliveries = Delivery.objects.select_related("source", "source__workspace").filter(
        workspace=workspace, pk=delivery_id
    )
    if source_id is not None:
        deliveries = deliveries.filter(source_id=source_id)
    delivery = deliveries.first()
    if delivery is None:
        raise NotFound("No such delivery.")
    if delivery.status in (DeliveryStatus.ACCEPTED, DeliveryStatus.DUPLICATE):
        return DeliveryOutcome(200, delivery, "unchanged", "Accepted already: nothing to replay.")
    source = delivery.source
    body = delivery.body.encode()
    payload, not_json = formats.body_json(body)
    forced = False
    if not delivery.verified:
        if delivery.body_truncated:
            raise Conflict(
                "Only the start of this unverified body was kept: it cannot be replayed."
            )
        problem = formats.signature_problem(source, body, delivery.headers, payload)
        if problem and not force:
            raise Conflict(
                f"The sender of this delivery was not verified ({problem}) An admin may force "
                "a replay if they trust it.",
                code="unverified_delivery",
            )
        if problem and not _may_force(actor):
            raise PermissionDenied("Only admins may force in a delivery that was not verified.")
        forced = bool(problem)
    Delivery.objects.filter(pk=delivery.pk).update(replay_count=F("replay_count") + 1)
    delivery.refresh_from_db()
    if not_json:
        raise Conflict(f"This delivery cannot be replayed: {not_json}")
    if forced:
        audit_record(
            workspace=workspace,
            actor=actor,
            action="lead_source.delivery_forced",
            obj=delivery,
            changes={"source_id": source.pk},
        )
    return _process(
        source,
        payload,
        {"verified": not forced},
        existing=delivery,
        idempotency_key=delivery.headers.get("Idempotency-Key"),
        base_url=base_url,
    )


def deliveries_replay(
    *, workspace: Workspace, actor: Actor, source_id: int | None = None
) -> dict[str, int]:
    """Replay every rejected (verified) delivery of the workspace, or of one source, oldest
    first; returns how many came to each result."""
    ids = Delivery.objects.filter(
        workspace=workspace, status=DeliveryStatus.REJECTED, verified=True
    )
    if source_id is not None:
        if not LeadSource.objects.filter(workspace=workspace, pk=source_id).exists():
            raise NotFound("No such lead source.")
        ids = ids.filter(source_id=source_id)
    counts: dict[str, int] = {}
    for delivery_id in ids.order_by("received_at", "id").values_list("id", flat=True):
        outcome = delivery_replay(workspace=workspace, delivery_id=delivery_id, actor=actor)
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
    return counts


def deliveries_prune(now: dt.datetime | None = None) -> int:
    """Delete deliveries older than LEADFLOW_INBOUND_RETENTION_DAYS (0 keeps them all).

    The contacts they made stay; a lead id seen again after its delivery is gone updates
    the same contact (the upsert dedupes on email and phone) instead of answering 200.
    """
    days = settings.LEADFLOW_INBOUND_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted, _ = Delivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted
