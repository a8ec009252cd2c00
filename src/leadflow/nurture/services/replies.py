"""Replies to marketing email, read from the bounce mailbox (docs/nurture/replies.md).

Guarantees:
- ``reply_parse`` is pure (no database) and never raises on malformed input. A delivery or
  feedback report (``multipart/report``) or an email from a mailer daemon is never a reply.
- A reply is recognised only by the Message-ID LeadFlow gave the email it answers, named
  in its ``In-Reply-To`` or ``References``: the id is looked up through its delivery row
  and must equal, whole, the id that delivery was sent with (which carries a digest keyed
  with the site's secret: ``nurture.services.transport.message_id_for``). The contact is
  the delivery's; nothing the reply says about a contact (an id, an address) is trusted.
- An auto-reply (``Auto-Submitted`` other than ``no``, ``X-Autoreply``, ``X-Autorespond``,
  ``Precedence: auto_reply / bulk / junk``, an "Out of office"-like subject) is recorded
  as ``email.auto_replied``, a person's as ``email.replied`` (``nurture.reply_kinds``).
- A reply is recorded once: its key (its own Message-ID, else the hash of its bytes) is
  unique in the workspace, so a mailbox read again after a crash adds nothing. The
  ``Reply`` row and the activity commit together.
"""

import email
import email.errors
import email.message
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import parseaddr

from django.db import IntegrityError, transaction

from leadflow.contacts.models import Contact
from leadflow.contacts.services import activity_record
from leadflow.core.actors import Actor
from leadflow.core.models import Workspace
from leadflow.nurture.models import Reply
from leadflow.nurture.reply_kinds import EMAIL_AUTO_REPLIED, EMAIL_REPLIED, reply_data
from leadflow.nurture.services.bounce_reports import MAX_REPORT_BYTES, MESSAGE_ID
from leadflow.nurture.services.bounces import dedupe_key, delivery_by_message_id

MAX_ANSWERED_IDS = 50
AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}
AUTO_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:"
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response|answer)"
    r"|autoreply|away from (?:the |my )?(?:office|desk)|on (?:vacation|holiday|leave)"
    r"|abwesenheit|r[ée]ponse automatique|absence|respuesta autom[áa]tica|fuera de la oficina"
    r"|risposta automatica|fuori sede|automatisch antwoord|afwezig"
    r")",
    re.IGNORECASE,
)
DAEMONS = ("mailer-daemon", "postmaster")


@dataclass(frozen=True)
class ParsedReply:
    """What an email that may be a reply says: its key, the Message-IDs it answers (the
    direct one first), its subject and whether it is an auto-reply."""

    key: str
    answered: tuple[str, ...]
    subject: str
    auto: bool


@dataclass
class ReplyOutcome:
    reply: Reply | None
    created: bool = False


def _decoded(value) -> str:
    try:
        return str(make_header(decode_header(str(value or ""))))
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        return str(value or "")


def auto_reply(message: email.message.Message, subject: str) -> bool:
    """RFC 3834's ``Auto-Submitted``, the headers autoresponders add, and the subjects
    out-of-office messages start with (some send none of the headers)."""
    submitted = str(message.get("Auto-Submitted") or "").strip().lower()
    if submitted and not submitted.startswith("no"):
        return True
    if any(message.get(name) is not None for name in AUTO_HEADERS):
        return True
    if str(message.get("Precedence") or "").strip().lower() in AUTO_PRECEDENCE:
        return True
    return bool(AUTO_SUBJECT.match(subject))


def reply_parse(raw: bytes) -> ParsedReply | None:
    """The reply an email may be (None for a report, a mailer daemon's message or an email
    answering nothing)."""
    raw = raw[:MAX_REPORT_BYTES]
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    if message.get_content_type() == "multipart/report":
        return None
    sender = parseaddr(_decoded(message.get("From")))[1].lower()
    if sender.split("@", 1)[0] in DAEMONS:
        return None
    direct = MESSAGE_ID.findall(str(message.get("In-Reply-To") or ""))
    # References lists the thread oldest first: the newest is the email answered.
    thread = list(reversed(MESSAGE_ID.findall(str(message.get("References") or ""))))
    answered = tuple(dict.fromkeys(direct + thread))[:MAX_ANSWERED_IDS]
    if not answered:
        return None
    own = next(iter(MESSAGE_ID.findall(str(message.get("Message-ID") or ""))), "")
    subject = " ".join(_decoded(message.get("Subject")).split())
    return ParsedReply(
        key=dedupe_key("reply", own or hashlib.sha256(raw).hexdigest()),
        answered=answered,
        subject=subject,
        auto=auto_reply(message, subject),
    )


@transaction.atomic
def reply_record(*, workspace: Workspace, parsed: ParsedReply) -> ReplyOutcome:
    """Record one reply (see the module's guarantees). A reply to no email of this
    workspace (another's, a forged or mistyped Message-ID) is ignored (``reply`` None)."""
    delivery = delivery_by_message_id(workspace, parsed.answered)
    if delivery is None:
        return ReplyOutcome(None)
    contact = Contact.objects.filter(workspace=workspace, pk=delivery.contact_id).first()
    try:
        with transaction.atomic():
            reply = Reply.objects.create(
                workspace=workspace,
                delivery=delivery,
                contact=contact,
                message_id=delivery.message_id,
                auto=parsed.auto,
                dedupe_key=parsed.key,
            )
    except IntegrityError:  # read before (a mailbox read again after a crash)
        return ReplyOutcome(Reply.objects.get(workspace=workspace, dedupe_key=parsed.key))
    if contact is not None:
        activity_record(
            workspace=workspace,
            contact=contact,
            kind=EMAIL_AUTO_REPLIED if parsed.auto else EMAIL_REPLIED,
            actor=Actor.system("replies"),
            data=reply_data(
                message_id=delivery.message_id,
                delivery_id=delivery.pk,
                subject=parsed.subject,
                auto=parsed.auto,
            ),
        )
    return ReplyOutcome(reply, created=True)
