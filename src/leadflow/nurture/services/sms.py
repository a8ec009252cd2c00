"""Text messages from sequences (``nurture.models.sms``, docs/nurture/sms.md).

- ``sms_settings_save``: the workspace's provider (a Twilio-compatible HTTP API), checked.
- ``sms_enqueue``: a sequence's SMS step queues one delivery per contact and entry (one
  INSERT that skips rows already there) with the text rendered in the sandbox.
- ``sms_send_run``: the worker leases queued deliveries (as the email sender), checks each
  person (a mobile number not on the SMS suppression list, a lawful basis for the ``sms``
  consent purpose — or marketing consent when the workspace does not require it —, the
  pacing cap and quiet hours shared with email), commits in_flight, calls the provider
  (asking for delivery receipts at the workspace's status webhook), then commits sent or
  failed. A provider
  that cannot be reached releases the rest for a later run; a worker that dies in flight
  leaves the delivery to be parked as unknown.
"""

import datetime as dt
import uuid
from urllib.parse import urlsplit

import phonenumbers
import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from leadflow.contacts.consent import consent_statuses, lawful_basis
from leadflow.contacts.models import DEFAULT_PURPOSES, ConsentStatus, Contact
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.secrets import secret_name_error, secret_name_problems, secret_read
from leadflow.nurture.models import SmsDelivery, SmsSettings, SmsStatus
from leadflow.nurture.models.sms import SMS_MAX_LENGTH, TOKEN_ENV_PREFIX
from leadflow.nurture.services.pacing import pacing_claim, pacing_release_keys
from leadflow.nurture.services.rendering import compile_field, contact_fields
from leadflow.nurture.services.sms_inbound import (
    SMS_PURPOSE,
    sms_provider_opt_out,
    sms_suppressed,
    sms_webhook_urls,
)

SEND_TASK = "leadflow.nurture.tasks.sms_send"
LEASE = dt.timedelta(minutes=5)
BATCH = 100
TIMEOUT = 10
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MARKETING = (ConsentStatus.GRANTED, ConsentStatus.CONFIRMED)


def sms_settings_get(workspace_id: int) -> SmsSettings:
    return SmsSettings.objects.filter(workspace_id=workspace_id).first() or SmsSettings(
        workspace_id=workspace_id
    )


def sms_settings_save(*, workspace: Workspace, data: dict, base_url: str = "") -> SmsSettings:
    """Replace the provider settings. The API base is HTTPS (plain HTTP only to this
    machine, for a local gateway); the token's variable must be the workspace's own
    (``LEADFLOW_SMS_TOKEN_W<workspace id>[_…]``: core.secrets);
    ``require_sms_consent`` (default on) asks the ``sms`` consent purpose before texting.
    ``base_url`` is the address the request came in on: the provider's receipts are asked
    for there unless LEADFLOW_BASE_URL says otherwise."""
    errors = []
    base = str(data.get("api_base") or "https://api.twilio.com").strip().rstrip("/")
    parts = urlsplit(base)
    if len(base) > 300:
        errors.append(FieldError("api_base", "At most 300 characters."))
    elif (
        not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK))
        or not parts.hostname
    ):
        errors.append(FieldError("api_base", "Give an https:// address (http only to localhost)."))
    sid = str(data.get("account_sid") or "").strip()
    if not sid or len(sid) > 100 or not sid.replace("_", "").replace("-", "").isalnum():
        errors.append(FieldError("account_sid", "Give the account id (letters and digits)."))
    number = str(data.get("from_number") or "").strip()
    try:
        parsed = phonenumbers.parse(number, None)
        valid = phonenumbers.is_valid_number(parsed)
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        errors.append(FieldError("from_number", "Give the sending number as +<country><number>."))
    token_env = str(data.get("token_env") or "").strip()
    problem = secret_name_error(workspace.pk, TOKEN_ENV_PREFIX, token_env)
    if problem:
        errors.append(FieldError("token_env", problem))
    require = data.get("require_sms_consent", True)
    if not isinstance(require, bool):
        errors.append(FieldError("require_sms_consent", "true or false."))
    base_url = (base_url or "").strip().rstrip("/")
    if errors:
        raise ValidationFailed(errors)
    values = {
        "require_sms_consent": require,
        "public_base": base_url[:300] if base_url.startswith(("http://", "https://")) else "",
        "api_base": base,
        "account_sid": sid,
        "from_number": phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        "token_env": token_env,
        "updated_at": timezone.now(),
    }
    row, _ = SmsSettings.objects.update_or_create(workspace=workspace, defaults=values)
    return row


def sms_text_check(text: str, field: str = "text") -> None:
    if not isinstance(text, str) or not text.strip() or len(text) > SMS_MAX_LENGTH:
        raise ValidationFailed([FieldError(field, "Give a text of 1 to 1,600 characters.")])
    compile_field(field, text)  # a ValidationFailed naming the field when it does not compile


def sms_enqueue(*, sequence, step: dict, walkers: list, now: dt.datetime) -> int:
    """Queue the step's text for these enrolments (rendered for each contact now)."""
    template = compile_field("text", step["text"])
    from django.template import Context

    contacts = {
        contact.pk: contact
        for contact in Contact.objects.filter(
            workspace_id=sequence.workspace_id, pk__in=[w.contact_id for w in walkers]
        ).select_related("company")
    }
    rows = []
    for walker in walkers:
        contact = contacts.get(walker.contact_id)
        if contact is None:
            continue
        fields = contact_fields(contact, contact.company.name if contact.company_id else "")
        text = template.render(Context({"contact": fields, "offer": {}}, autoescape=False))
        rows.append(
            SmsDelivery(
                workspace_id=sequence.workspace_id,
                sequence_id=sequence.pk,
                step=step["id"],
                entry=walker.entry,
                contact_id=contact.pk,
                text=" ".join(text.split())[:SMS_MAX_LENGTH],
                queued_at=now,
            )
        )
    made = SmsDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    if made:
        from leadflow.core.tasks import task_schedule

        task_schedule(SEND_TASK)
    return len(made)


def _claim(owner: str, now: dt.datetime) -> list[int]:
    table = SmsDelivery._meta.db_table
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        # In flight with an expired lease: its worker died after the commit: park it.
        cursor.execute(
            f"""UPDATE {table} SET status = 'unknown', reason = %s
                WHERE status = 'in_flight' AND lease_expires_at < %s""",  # noqa: S608
            ["The worker stopped while handing it to the provider: review it.", now],
        )
        cursor.execute(
            f"""UPDATE {table} SET lease_owner = %s, lease_expires_at = %s
                WHERE id IN (SELECT id FROM {table} WHERE status = 'queued'
                  AND (lease_expires_at IS NULL OR lease_expires_at < %s)
                  ORDER BY id LIMIT %s{lock})""",  # noqa: S608
            [owner, now + LEASE, now, BATCH],
        )
    return list(
        SmsDelivery.objects.filter(lease_owner=owner, status=SmsStatus.QUEUED)
        .order_by("id")
        .values_list("pk", flat=True)
    )


def _mobile(phone: str, country: str) -> str:
    try:
        number = phonenumbers.parse(phone, country or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sms_send_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Send what is queued (one batch); returns the count of each outcome."""
    now = now or timezone.now()
    owner = uuid.uuid4().hex
    ids = _claim(owner, now)
    outcome: dict[str, int] = {}
    if not ids:
        return outcome
    rows = list(
        SmsDelivery.objects.filter(pk__in=ids).select_related("contact").order_by("workspace_id")
    )
    by_workspace: dict[int, list[SmsDelivery]] = {}
    for row in rows:
        by_workspace.setdefault(row.workspace_id, []).append(row)
    for workspace_id, batch in by_workspace.items():
        for key, count in _send_workspace(workspace_id, batch, owner, now).items():
            outcome[key] = outcome.get(key, 0) + count
    return outcome


def _settle(row: SmsDelivery, owner: str, **values) -> None:
    SmsDelivery.objects.filter(pk=row.pk, lease_owner=owner).update(lease_owner="", **values)


def _status_callback(config: SmsSettings, delivery_id: int) -> str:
    """Where the provider posts this text's receipts ("" when LeadFlow's address is not
    known: LEADFLOW_BASE_URL, else the address the settings were saved from)."""
    base = settings.LEADFLOW_BASE_URL or config.public_base
    if not base:
        return ""
    return f"{sms_webhook_urls(config.workspace_id, base)['status']}?delivery={delivery_id}"


def _send_workspace(workspace_id: int, batch: list, owner: str, now) -> dict[str, int]:
    config = SmsSettings.objects.filter(workspace_id=workspace_id).first()
    token = sms_settings_token(config) if config else ""
    outcome: dict[str, int] = {}

    def count(key: str) -> None:
        outcome[key] = outcome.get(key, 0) + 1

    numbers = {row.pk: _mobile(row.contact.phone or "", row.contact.country or "") for row in batch}
    suppressed = sms_suppressed(workspace_id, numbers.values())
    require = config is None or config.require_sms_consent
    consent = (
        consent_statuses(workspace_id, [row.contact_id for row in batch], SMS_PURPOSE)
        if require
        else {row.contact_id: row.contact.consent_status for row in batch}
    )
    ready = []
    for row in batch:
        number = numbers[row.pk]
        status = consent.get(row.contact_id, ConsentStatus.UNKNOWN.value)
        reason = ""
        if config is None or not token:
            reason = "No SMS provider is set up (Settings → Text messages)."
        elif not number:
            reason = "No mobile number."
        elif number in suppressed:
            reason = "The number texted STOP: no texts until it texts START."
        elif require and not lawful_basis(SMS_PURPOSE, status):
            reason = f"No consent for {DEFAULT_PURPOSES[SMS_PURPOSE].lower()} (consent: {status})."
        elif not require and status not in MARKETING:
            reason = "No marketing consent."
        if reason:
            _settle(row, owner, status=SmsStatus.SKIPPED, reason=reason)
            count("skipped")
        else:
            row.to_number = number
            ready.append(row)
    # One text per person per run (the cap counts each): a second waits for the next run.
    first: dict[int, SmsDelivery] = {}
    for row in ready:
        if row.contact_id in first:
            _settle(row, owner, lease_expires_at=now + dt.timedelta(minutes=1))
            count("held")
        else:
            first[row.contact_id] = row
    ready = list(first.values())
    keys = {row.contact_id: f"sms:{row.pk}" for row in ready}
    verdicts = pacing_claim(workspace_id=workspace_id, wanted=keys, now=now)
    for row in ready:
        verdict = verdicts.get(row.contact_id)
        if verdict is None or not verdict.go:
            # Held: queued again, not claimable before it may go.
            SmsDelivery.objects.filter(pk=row.pk, lease_owner=owner).update(
                lease_owner="",
                lease_expires_at=verdict.retry_at if verdict else now + LEASE,
                reason=f"Held: {verdict.outcome if verdict else 'unknown'}",
            )
            count("held")
            continue
        with transaction.atomic():
            moved = SmsDelivery.objects.filter(
                pk=row.pk, lease_owner=owner, status=SmsStatus.QUEUED
            ).update(status=SmsStatus.IN_FLIGHT, to_number=row.to_number)
        if not moved:
            continue
        payload = {"From": config.from_number, "To": row.to_number, "Body": row.text}
        callback = _status_callback(config, row.pk)
        if callback:
            payload["StatusCallback"] = callback
        try:
            answer = requests.post(
                f"{config.api_base}/2010-04-01/Accounts/{config.account_sid}/Messages.json",
                data=payload,
                auth=(config.account_sid, token),
                timeout=TIMEOUT,
            )
        except requests.RequestException as problem:
            # Not handed over (no answer at all): back to the queue for a later run.
            _settle(
                row,
                owner,
                status=SmsStatus.QUEUED,
                reason=f"Provider unreachable: {problem}"[:500],
                lease_expires_at=now + LEASE,
            )
            pacing_release_keys(workspace_id=workspace_id, keys=[keys[row.contact_id]])
            count("retry")
            continue
        if 200 <= answer.status_code < 300:
            try:
                provider_id = str(answer.json().get("sid", ""))[:100]
            except ValueError:
                provider_id = ""
            _settle(
                row,
                owner,
                status=SmsStatus.SENT,
                provider_id=provider_id,
                sent_at=timezone.now(),
                reason="",
            )
            count("sent")
        else:
            _settle(
                row,
                owner,
                status=SmsStatus.FAILED,
                reason=f"Provider answered {answer.status_code}: {answer.text[:300]}",
            )
            sms_provider_opt_out(
                workspace_id=workspace_id, number=row.to_number, error_code=_error_code(answer)
            )
            pacing_release_keys(workspace_id=workspace_id, keys=[keys[row.contact_id]])
            count("failed")
    return outcome


def _error_code(answer: requests.Response) -> str:
    """The provider's error code in a refusal's JSON body (``{"code": 21610, ...}``)."""
    try:
        body = answer.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


def sms_settings_token(config: SmsSettings) -> str:
    """The provider's token from the variable ``token_env`` names ("" when it is unset or
    not this workspace's to name)."""
    return secret_read(config.workspace_id, TOKEN_ENV_PREFIX, config.token_env)


def sms_settings_token_set(config: SmsSettings) -> bool:
    return bool(sms_settings_token(config))


def sms_settings_secret_problems(config: SmsSettings) -> dict[str, str]:
    """The line to show when the saved ``token_env`` is not this workspace's name."""
    return secret_name_problems(config, {"token_env": TOKEN_ENV_PREFIX})
