"""Reading bounce and complaint reports from the raw bytes of an email (pure: no database).

- A delivery status notification (RFC 3464: ``multipart/report; report-type=delivery-status``)
  is read with the standard library's email package: each per-recipient block of its
  ``message/delivery-status`` part gives ``Final-Recipient`` (or ``Original-Recipient``),
  ``Action``, ``Status`` and ``Diagnostic-Code``. ``Action: failed`` with a 5.x.x status is
  a hard bounce, with a 4.x.x status a soft one; ``delayed``, ``delivered``, ``relayed`` and
  ``expanded`` are not bounces (the mail server is still trying, or it arrived).
- A complaint (RFC 5965 ARF: ``report-type=feedback-report``) names the complaining
  recipient in ``Original-Rcpt-To`` or in the returned message's ``To``; ``not-spam``
  reports are not complaints.
- Anything else goes to flufl.bounce (GNU Mailman's detectors for qmail, Exim, Postfix,
  Exchange, Yahoo... and the heuristics of decision 0031), which names the permanently and
  temporarily failing recipients.

The original Message-ID (to find the delivery) comes from the returned message
(``message/rfc822`` or ``text/rfc822-headers``), else the report's ``In-Reply-To`` and
``References``, else a ``Message-ID:`` line quoted in the text of a non-standard bounce.
"""

import email
import email.policy
import hashlib
import logging
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures

# flufl.bounce logs every detector it runs at INFO: one line per detector per email.
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
MAX_REPORT_BYTES = 5_000_000
STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
SMTP_CODE = re.compile(r"\b([245])\d\d\b")
MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s]+>")
QUOTED_MESSAGE_ID = re.compile(r"(?im)^\s*Message-ID:\s*(<[^<>\s@]+@[^<>\s]+>)")


@dataclass(frozen=True)
class BounceReport:
    """One recipient's bounce or complaint read from a report."""

    kind: str
    address: str
    status: str = ""
    diagnostic: str = ""
    message_ids: tuple[str, ...] = ()


@dataclass
class ParsedReport:
    """What one email says: its own identity (for recording it once) and its reports."""

    key: str
    reports: list[BounceReport] = field(default_factory=list)


def _text(value) -> str:
    return " ".join(str(value or "").split())


def _address(field_value) -> str:
    """``rfc822; kim@example.com`` → ``kim@example.com`` (lower-cased)."""
    text = _text(field_value)
    if ";" in text:
        text = text.split(";", 1)[1]
    address = parseaddr(text)[1] or text.strip(" <>")
    return address.strip().lower() if "@" in address else ""


def _message_ids(value) -> list[str]:
    return MESSAGE_ID.findall(str(value or ""))


def _returned_headers(report: Message) -> Message | None:
    """The headers of the returned original: a ``message/rfc822`` part or a
    ``text/rfc822-headers`` part."""
    for part in report.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
        if content_type == "text/rfc822-headers":
            text = part.get_payload(decode=True) or b""
            return HeaderParser().parsestr(text.decode("utf-8", "replace"))
    return None


def _original_ids(report: Message, raw_text: str | None = None) -> tuple[str, ...]:
    found: list[str] = []
    returned = _returned_headers(report)
    if returned is not None:
        found += _message_ids(returned.get("Message-ID"))
    found += _message_ids(report.get("In-Reply-To"))
    found += _message_ids(report.get("References"))
    if raw_text is not None:
        own = set(_message_ids(report.get("Message-ID")))
        found += [i for i in QUOTED_MESSAGE_ID.findall(raw_text) if i not in own]
    return tuple(dict.fromkeys(found))


def _kind_of(status: str, diagnostic: str) -> str:
    if status.startswith("5"):
        return HARD
    if status.startswith("4"):
        return SOFT
    code = SMTP_CODE.search(diagnostic)
    return HARD if code and code.group(1) == "5" else SOFT


def _delivery_status(report: Message, ids: tuple[str, ...]) -> list[BounceReport] | None:
    """The failed recipients of a DSN, or None when the email has no delivery-status part."""
    part = next(
        (p for p in report.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    if part is None:
        return None
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return []
    reports = []
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        if not isinstance(block, Message):
            continue
        action = _text(block.get("Action")).lower()
        if action != "failed":
            continue
        address = _address(block.get("Final-Recipient")) or _address(
            block.get("Original-Recipient")
        )
        if not address:
            continue
        diagnostic = _text(block.get("Diagnostic-Code"))
        if ";" in diagnostic:
            diagnostic = diagnostic.split(";", 1)[1].strip()
        match = STATUS.search(_text(block.get("Status")))
        status = ".".join(match.groups()) if match else ""
        reports.append(
            BounceReport(
                kind=_kind_of(status, diagnostic),
                address=address,
                status=status,
                diagnostic=diagnostic[:500],
                message_ids=ids,
            )
        )
    return reports


def _feedback(report: Message, ids: tuple[str, ...]) -> list[BounceReport] | None:
    """The complaint of an ARF report, or None when the email is not one."""
    part = next(
        (p for p in report.walk() if p.get_content_type() == "message/feedback-report"), None
    )
    if part is None:
        return None
    payload = part.get_payload()
    fields = payload[0] if isinstance(payload, list) and payload else part
    feedback_type = _text(fields.get("Feedback-Type")).lower() or "abuse"
    if feedback_type == "not-spam":
        return []
    address = _address(fields.get("Original-Rcpt-To"))
    if not address:
        returned = _returned_headers(report)
        if returned is not None:
            to = [a for _, a in getaddresses([str(v) for v in returned.get_all("To", [])])]
            address = next((a.strip().lower() for a in to if "@" in a), "")
    if not address:
        return []
    return [
        BounceReport(
            kind=COMPLAINT,
            address=address,
            diagnostic=f"Feedback report: {feedback_type}"[:500],
            message_ids=ids,
        )
    ]


def _non_standard(report: Message, ids: tuple[str, ...]) -> list[BounceReport]:
    try:
        temporary, permanent = all_failures(report)
    except Exception:  # a detector that trips over a malformed email: not a bounce we can read
        return []
    reports = []
    for kind, found in ((HARD, permanent), (SOFT, set(temporary) - set(permanent))):
        for raw in sorted(found):
            address = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).strip()
            address = address.strip("<>").lower()
            if "@" in address:
                reports.append(
                    BounceReport(
                        kind=kind,
                        address=address,
                        diagnostic="Non-standard bounce (read by flufl.bounce)",
                        message_ids=ids,
                    )
                )
    return reports


def report_parse(raw: bytes) -> ParsedReport:
    """Every bounce and complaint an email reports (none for an email that is neither: an
    auto-reply, a person's answer). Never raises on malformed input."""
    raw = raw[:MAX_REPORT_BYTES]
    report = email.message_from_bytes(raw, policy=email.policy.compat32)
    own_id = next(iter(_message_ids(report.get("Message-ID"))), "")
    key = own_id or hashlib.sha256(raw).hexdigest()
    ids = _original_ids(report)
    reports = _delivery_status(report, ids)
    if reports is None:
        reports = _feedback(report, ids)
    if reports is None:
        text = raw.decode("utf-8", "replace")
        reports = _non_standard(report, _original_ids(report, text))
    unique = {(r.address, r.kind): r for r in reports}
    return ParsedReport(key=key, reports=list(unique.values()))
