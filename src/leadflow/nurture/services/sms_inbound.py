"""Texts people send back, and the provider's delivery receipts (docs/nurture/sms.md).

Guarantees:
- the provider's webhooks are authenticated by its request signature (Twilio's
  ``X-Twilio-Signature``: HMAC-SHA1 of the full URL and the sorted POST parameters,
  base64, keyed with the account's token, ``sms_signature_valid``); the URL's token
  (signed for one workspace, ``sms_webhook_token``) only routes the post;
- an inbound text is stored once per provider message id (a unique constraint): a
  retried webhook finds its row and changes nothing;
- a carrier keyword (trimmed, any case) acts in the same transaction as the row: STOP,
  STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT put the number on ``SmsSuppression`` and
  withdraw the ``sms`` consent purpose of every contact with that number (through the
  consent ledger's one writer); START, UNSTOP, YES lift it and grant the purpose again;
  HELP and INFO are recorded. Any other text is an ``sms.replied`` activity on each
  matching contact; a number no contact has is kept as an unmatched row;
- a receipt only moves a text's ``receipt`` forward (``RECEIPT_RANK``), so callbacks
  that arrive out of order never take a delivered text back to sent;
- the provider's own opt-out error (Twilio's 21610: the number texted STOP to the
  provider, which no longer forwards it) in a receipt or in the answer to a send puts the
  number on ``SmsSuppression`` too (``sms_provider_opt_out``).
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from leadflow.contacts.consent import GRANTING, consent_latest_of
from leadflow.contacts.models import ConsentSource, ConsentState, Contact
from leadflow.contacts.services import ConsentGiven, activity_record, consent_record_many
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.webhook_tokens import workspace_of_webhook_token, workspace_webhook_token
from leadflow.nurture.models import (
    SmsDelivery,
    SmsInbound,
    SmsInboundAction,
    SmsSuppression,
)
from leadflow.nurture.models.sms import RECEIPT_RANK, SMS_MAX_LENGTH
from leadflow.nurture.sms_kinds import SMS_KEYWORD, SMS_REPLIED, sms_inbound_data

WEBHOOK_SALT = "leadflow.nurture.sms-webhook"
SID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SMS_PURPOSE = "sms"
# The carriers' standard keywords (CTIA; what Twilio's Advanced Opt-Out also answers).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
# The provider's MessageStatus → our receipt; statuses not listed change nothing.
RECEIPT_OF = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}
ACTOR = "SMS provider"


# -- the webhook's URL and signature ---------------------------------------------------


def sms_webhook_token(workspace_id: int) -> str:
    """The token in the workspace's SMS webhook URLs (unguessable, derived from the
    installation's secret; nothing is stored)."""
    return workspace_webhook_token(WEBHOOK_SALT, workspace_id)


def sms_webhook_workspace(token: str) -> Workspace | None:
    """The workspace a webhook token was made for, or None."""
    return workspace_of_webhook_token(WEBHOOK_SALT, token)


def sms_webhook_urls(workspace_id: int, base_url: str) -> dict[str, str]:
    """{"inbound": …, "status": …}: the addresses to give the provider, on
    LEADFLOW_BASE_URL when it is set, else on ``base_url`` (the site's root as the request
    reached it)."""
    root = (settings.LEADFLOW_BASE_URL or base_url).rstrip("/")
    token = sms_webhook_token(workspace_id)
    return {
        "inbound": root + reverse("nurture_sms_inbound", kwargs={"token": token}),
        "status": root + reverse("nurture_sms_status", kwargs={"token": token}),
    }


def sms_signature(auth_token: str, url: str, params: Mapping[str, Sequence[str]]) -> str:
    """Twilio's request signature: base64 of HMAC-SHA1(token, URL + each parameter's name
    and value, sorted by name, then value)."""
    payload = url + "".join(
        name + value for name in sorted(params) for value in sorted(set(params[name]))
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _with_and_without_port(url: str) -> list[str]:
    """The URL as given, and with its port removed (or, without one, the scheme's default
    added): providers sign the URL as configured, and proxies and Django may write the
    port differently (Twilio's own libraries accept both forms)."""
    found = re.match(r"(https?)://([^/:?#]+)(:\d+)?(.*)", url, re.DOTALL)
    if found is None:
        return [url]
    scheme, host, port, rest = found.groups()
    if port is None:
        return [url, f"{scheme}://{host}{':443' if scheme == 'https' else ':80'}{rest}"]
    return [url, f"{scheme}://{host}{rest}"]


def sms_signature_valid(
    *, auth_token: str, urls: Iterable[str], params: Mapping[str, Sequence[str]], signature: str
) -> bool:
    """Whether ``signature`` signs ``params`` at one of ``urls`` (the addresses the post
    may have been made to) with ``auth_token``; never true without a token or signature."""
    if not auth_token or not signature:
        return False
    return any(
        constant_time_compare(sms_signature(auth_token, candidate, params), signature)
        for url in urls
        for candidate in _with_and_without_port(url)
    )


# -- numbers and contacts ---------------------------------------------------------------


def sms_number(value: str, country: str = "") -> str:
    """The number in E.164 (``+14155550134``), or "" when it is not a valid one."""
    try:
        number = phonenumbers.parse((value or "").strip(), (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sms_contacts_matching(workspace_id: int, number: str) -> list[Contact]:
    """The workspace's contacts whose phone is ``number`` (E.164), lowest id first. Phones
    are stored in E.164 by every entry point (one indexed lookup); one written another way
    (an old row) is found by its last four digits and read with the contact's country."""
    if not number:
        return []
    rows = Contact.objects.filter(workspace_id=workspace_id)
    exact = list(rows.filter(phone=number).order_by("pk"))
    if exact:
        return exact
    return [
        contact
        for contact in rows.filter(phone__endswith=number[-4:]).order_by("pk")[:50]
        if sms_number(contact.phone or "", contact.country or "") == number
    ]


def sms_suppressed(workspace_id: int, numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` (E.164) texted STOP and not START since (one query)."""
    wanted = {number for number in numbers if number}
    if not wanted:
        return set()
    return set(
        SmsSuppression.objects.filter(workspace_id=workspace_id, number__in=wanted).values_list(
            "number", flat=True
        )
    )


# -- inbound texts ----------------------------------------------------------------------


def sms_keyword_action(body: str) -> str:
    """The action a text asks for: its whole body, trimmed, in any case, is a keyword."""
    word = (body or "").strip().upper()
    if word in STOP_WORDS:
        return SmsInboundAction.STOP
    if word in START_WORDS:
        return SmsInboundAction.START
    if word in HELP_WORDS:
        return SmsInboundAction.HELP
    return SmsInboundAction.REPLY


@dataclass
class InboundRecorded:
    inbound: SmsInbound
    created: bool


def sms_inbound_clean(params: Mapping[str, str]) -> dict[str, str]:
    """The fields of a provider's inbound post, checked; every bad one is named."""
    errors = []
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    if not SID.fullmatch(sid):
        errors.append(FieldError("MessageSid", "The provider's message id (letters, digits)."))
    sender = (params.get("From") or "").strip()
    if not sender or len(sender) > 32 or "\0" in sender:
        errors.append(FieldError("From", "The sending number (at most 32 characters)."))
    to = (params.get("To") or "").strip()
    if len(to) > 32 or "\0" in to:
        errors.append(FieldError("To", "At most 32 characters."))
    body = params.get("Body") or ""
    if len(body) > SMS_MAX_LENGTH or "\0" in body:
        errors.append(FieldError("Body", "A text of at most 1,600 characters."))
    if errors:
        raise ValidationFailed(errors)
    return {"message_sid": sid, "from_number": sender, "to_number": to, "body": body}


@transaction.atomic
def sms_inbound_record(
    *,
    workspace: Workspace,
    message_sid: str,
    from_number: str,
    to_number: str = "",
    body: str = "",
    now=None,
) -> InboundRecorded:
    """Store a text someone sent and act on it (see the module's guarantees); a second
    call with the same ``message_sid`` returns the first row and does nothing."""
    found = SmsInbound.objects.filter(workspace=workspace, message_sid=message_sid).first()
    if found is not None:
        return InboundRecorded(found, False)
    now = now or timezone.now()
    number = sms_number(from_number) or from_number.strip()[:32]
    contacts = sms_contacts_matching(workspace.pk, sms_number(from_number))
    inbound, created = SmsInbound.objects.get_or_create(
        workspace=workspace,
        message_sid=message_sid,
        defaults={
            "from_number": number,
            "to_number": sms_number(to_number) or to_number.strip()[:32],
            "body": body[:SMS_MAX_LENGTH],
            "action": sms_keyword_action(body),
            "contact": contacts[0] if contacts else None,
            "contacts_matched": len(contacts),
            "received_at": now,
        },
    )
    if not created:  # a concurrent retry stored it first
        return InboundRecorded(inbound, False)
    actor = Actor.system(ACTOR)
    if inbound.action == SmsInboundAction.STOP:
        SmsSuppression.objects.get_or_create(
            workspace=workspace,
            number=number,
            defaults={"keyword": body.strip().upper()[:20], "inbound": inbound, "created_at": now},
        )
        _consent_set(workspace, contacts, inbound, ConsentState.WITHDRAWN, actor, now)
    elif inbound.action == SmsInboundAction.START:
        SmsSuppression.objects.filter(workspace=workspace, number=number).delete()
        _consent_set(workspace, contacts, inbound, ConsentState.GRANTED, actor, now)
    kind = SMS_REPLIED if inbound.action == SmsInboundAction.REPLY else SMS_KEYWORD
    for contact in contacts:
        activity_record(
            workspace=workspace,
            contact=contact,
            kind=kind,
            actor=actor,
            data=sms_inbound_data(inbound),
            occurred_at=now,
        )
    return InboundRecorded(inbound, True)


def _consent_set(workspace, contacts, inbound, status, actor, now) -> None:
    """The ``sms`` purpose withdrawn (STOP) or granted (START) for each contact whose
    status is not already that (a second STOP writes no second row)."""
    latest = consent_latest_of(workspace.pk, [(contact.pk, SMS_PURPOSE) for contact in contacts])
    has = GRANTING if status == ConsentState.GRANTED else {ConsentState.WITHDRAWN.value}
    entries = [
        (
            contact.pk,
            ConsentGiven(
                purpose=SMS_PURPOSE,
                status=status,
                source=ConsentSource.SMS_KEYWORD,
                source_ref=f"text {inbound.message_sid}"[:200],
                text=inbound.body.strip()[:100],
                note=f"Texted {inbound.body.strip().upper()[:20]} from {inbound.from_number}",
            ),
        )
        for contact in contacts
        if latest.get((contact.pk, SMS_PURPOSE)) not in has
    ]
    consent_record_many(workspace=workspace, entries=entries, actor=actor, now=now)


# -- delivery receipts ------------------------------------------------------------------


# The provider's error codes that mean the person opted out with the provider itself.
OPT_OUT_ERRORS = frozenset({"21610"})


def sms_provider_opt_out(*, workspace_id: int, number: str, error_code: str, now=None) -> bool:
    """Suppress ``number`` when ``error_code`` says it opted out with the provider (True
    when it is suppressed now; a number already suppressed keeps its first row)."""
    number = sms_number(number) or number.strip()[:32]
    if str(error_code).strip() not in OPT_OUT_ERRORS or not number:
        return False
    SmsSuppression.objects.get_or_create(
        workspace_id=workspace_id,
        number=number,
        defaults={"keyword": f"error {error_code}"[:20], "created_at": now or timezone.now()},
    )
    return True


def sms_receipt_clean(params: Mapping[str, str]) -> dict[str, str]:
    errors = []
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    if not SID.fullmatch(sid):
        errors.append(FieldError("MessageSid", "The provider's message id (letters, digits)."))
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    if not status or len(status) > 20:
        errors.append(FieldError("MessageStatus", "The message's status at the provider."))
    code = (params.get("ErrorCode") or "").strip()
    if len(code) > 20:
        errors.append(FieldError("ErrorCode", "At most 20 characters."))
    if errors:
        raise ValidationFailed(errors)
    return {"message_sid": sid, "status": status, "error_code": code}


def sms_receipt_record(
    *,
    workspace: Workspace,
    message_sid: str,
    status: str,
    error_code: str = "",
    delivery_id: int | None = None,
    now=None,
) -> bool:
    """Move the text's receipt forward to what the provider says (one conditional UPDATE,
    so concurrent or late callbacks cannot move it back). The text is the one the
    callback's URL names (``delivery_id``: its id is in the StatusCallback LeadFlow gave,
    so a receipt that arrives before the provider's id was saved still finds it) or the
    one with that provider id. True when it changed."""
    receipt = RECEIPT_OF.get(status)
    if receipt is None:
        return False
    rows = SmsDelivery.objects.filter(workspace=workspace)
    if delivery_id is not None:
        rows = rows.filter(pk=delivery_id).filter(Q(provider_id="") | Q(provider_id=message_sid))
    else:
        rows = rows.filter(provider_id=message_sid)
    lower = [key for key, rank in RECEIPT_RANK.items() if rank < RECEIPT_RANK[receipt]]
    with transaction.atomic():
        changed = rows.filter(receipt__in=lower).update(
            receipt=receipt, receipt_error=error_code[:20], receipt_at=now or timezone.now()
        )
        if changed and delivery_id is not None:
            rows.filter(provider_id="").update(provider_id=message_sid[:100])
        if error_code.strip() in OPT_OUT_ERRORS:
            for number in rows.values_list("to_number", flat=True)[:1]:
                sms_provider_opt_out(
                    workspace_id=workspace.pk, number=number, error_code=error_code, now=now
                )
    return bool(changed)
