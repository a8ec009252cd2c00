"""The bounce mailbox: where the mail server returns what could not be delivered, read by
the worker every ``LEADFLOW_BOUNCE_CHECK_SECONDS`` (docs/nurture/bounces.md).

- An IMAP mailbox (``imaplib``: TLS from the start, STARTTLS, or plain on a trusted
  network; the password from the environment variable ``password_env`` names, read when the
  mailbox is opened and never stored): each email not yet carrying the ``$LeadFlowDone``
  keyword is read (``BODY.PEEK``), its reports recorded, then it is flagged
  ``$LeadFlowDone`` and ``\\Seen``.
- A Maildir under the installation's ``LEADFLOW_BOUNCE_MAILDIR_DIR`` (a name, never a
  path): each email of the inbox is read, then moved to its ``Processed`` folder.

Each email is marked done only after its reports were committed; a crash between the two
reads it again next time and ``bounce_record`` recognises what it recorded (the report's
key), so every report is recorded once. An email that is not a report but answers a
marketing email (its ``In-Reply-To`` or ``References`` names a Message-ID LeadFlow gave)
is recorded as a reply or an auto-reply (``nurture.services.replies``: once, keyed on the
reply's own Message-ID; docs/nurture/replies.md) and counted in ``replies``. The rest are
marked done too and counted as ``other``.
"""

import contextlib
import imaplib
import mailbox
import ssl
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.nurture.models import BounceSettings, MailboxKind, TlsMode
from leadflow.nurture.services.bounce_reports import report_parse
from leadflow.nurture.services.bounce_settings import bounce_secret
from leadflow.nurture.services.bounces import bounce_record, dedupe_key
from leadflow.nurture.services.replies import reply_parse, reply_record

DONE_KEYWORD = "$LeadFlowDone"
PROCESSED_FOLDER = "Processed"
IMAP_TIMEOUT = 15
MAX_PER_PASS = 500


@dataclass
class MailboxPass:
    read: int = 0
    recorded: int = 0
    repeated: int = 0
    replies: int = 0
    other: int = 0


class MailboxError(OSError):
    """The mailbox could not be opened or read (its server's words)."""


def _tls_context() -> ssl.SSLContext:
    # A private CA (the installation's own mail server) can be trusted by file.
    return ssl.create_default_context(cafile=settings.LEADFLOW_BOUNCE_CA_FILE or None)


class ImapMailbox:
    """One IMAP session on the workspace's bounce folder."""

    def __init__(self, found: BounceSettings):
        try:
            if found.tls_mode == TlsMode.SSL:
                self.imap = imaplib.IMAP4_SSL(
                    found.host, found.port, ssl_context=_tls_context(), timeout=IMAP_TIMEOUT
                )
            else:
                self.imap = imaplib.IMAP4(found.host, found.port, timeout=IMAP_TIMEOUT)
                if found.tls_mode == TlsMode.STARTTLS:
                    self.imap.starttls(ssl_context=_tls_context())
            password = bounce_secret(found, "password_env")
            self.imap.login(found.username, password)
            status, answer = self.imap.select(_quoted(found.folder or "INBOX"))
            if status != "OK":
                raise MailboxError(f"No folder {found.folder!r}: {_said(answer)}")
        except (imaplib.IMAP4.error, ssl.SSLError) as error:
            raise MailboxError(str(error)) from None

    def waiting(self) -> list[bytes]:
        status, answer = self.imap.uid("SEARCH", "UNKEYWORD", DONE_KEYWORD)
        if status != "OK":
            raise MailboxError(f"Search refused: {_said(answer)}")
        return (answer[0] or b"").split()[:MAX_PER_PASS]

    def read(self, uid: bytes) -> bytes | None:
        # At most the first 5 MB: a bounce is small, and report_parse reads no more.
        status, answer = self.imap.uid("FETCH", uid, "(BODY.PEEK[]<0.5000000>)")
        if status != "OK":
            raise MailboxError(f"Fetch refused: {_said(answer)}")
        return next((item[1] for item in answer if isinstance(item, tuple)), None)

    def done(self, uid: bytes) -> None:
        status, answer = self.imap.uid("STORE", uid, "+FLAGS", f"({DONE_KEYWORD} \\Seen)")
        if status != "OK":
            raise MailboxError(f"Flagging refused: {_said(answer)}")

    def close(self) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self.imap.logout()


class MaildirMailbox:
    """A Maildir directory under ``LEADFLOW_BOUNCE_MAILDIR_DIR``."""

    def __init__(self, found: BounceSettings):
        path = Path(settings.LEADFLOW_BOUNCE_MAILDIR_DIR) / found.maildir_name
        if not found.maildir_name or not (path / "cur").is_dir():
            raise MailboxError(f"No Maildir named {found.maildir_name!r} in the bounce directory.")
        self.box = mailbox.Maildir(path, factory=None, create=False)

    def waiting(self) -> list[str]:
        return sorted(self.box.iterkeys())[:MAX_PER_PASS]

    def read(self, key: str) -> bytes | None:
        try:
            return self.box.get_bytes(key)
        except KeyError:
            return None

    def done(self, key: str) -> None:
        try:
            raw = self.box.get_bytes(key)
        except KeyError:
            return
        if PROCESSED_FOLDER not in self.box.list_folders():
            self.box.add_folder(PROCESSED_FOLDER)
        processed = self.box.get_folder(PROCESSED_FOLDER)
        entry = mailbox.MaildirMessage(raw)
        entry.set_subdir("cur")
        entry.add_flag("S")
        processed.add(entry)
        self.box.discard(key)

    def close(self) -> None:
        pass


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(answer) -> str:
    return " ".join(
        part.decode("utf-8", "replace") if isinstance(part, bytes) else str(part)
        for part in answer or []
    )[:300]


def mailbox_open(found: BounceSettings):
    if found.mailbox_kind == MailboxKind.IMAP:
        return ImapMailbox(found)
    if found.mailbox_kind == MailboxKind.MAILDIR:
        return MaildirMailbox(found)
    raise MailboxError("No bounce mailbox is set up.")


def mailbox_check(*, workspace: Workspace) -> int:
    """The settings' test button: open the mailbox and count the emails waiting. Errors
    are a ValidationFailed on ``mailbox`` with the server's words."""
    found = BounceSettings.objects.filter(workspace=workspace).first()
    if found is None or found.mailbox_kind == MailboxKind.NONE:
        raise ValidationFailed([FieldError("mailbox", "No bounce mailbox is set up.")])
    try:
        box = mailbox_open(found)
        try:
            return len(box.waiting())
        finally:
            box.close()
    except OSError as error:
        raise ValidationFailed(
            [FieldError("mailbox", f"The mailbox could not be read: {error}")]
        ) from None


def mailbox_read(*, workspace: Workspace) -> MailboxPass:
    """Read the workspace's bounce mailbox once (see the module docstring); raises
    MailboxError (an OSError) when it cannot be opened or read."""
    found = BounceSettings.objects.filter(workspace=workspace).first()
    outcome = MailboxPass()
    if found is None or found.mailbox_kind == MailboxKind.NONE:
        return outcome
    box = mailbox_open(found)
    try:
        for key in box.waiting():
            raw = box.read(key)
            if raw is None:
                continue
            outcome.read += 1
            parsed = report_parse(raw)
            if not parsed.reports:
                _not_a_report(workspace, raw, outcome)
            for report in parsed.reports:
                recorded = bounce_record(
                    workspace=workspace,
                    kind=report.kind,
                    source="mailbox",
                    key=dedupe_key("mailbox", parsed.key, report.address, report.kind),
                    address=report.address,
                    message_ids=report.message_ids,
                    status=report.status,
                    diagnostic=report.diagnostic,
                )
                if recorded.created:
                    outcome.recorded += 1
                elif recorded.bounce is not None:
                    outcome.repeated += 1
            box.done(key)
    finally:
        box.close()
    return outcome


def _not_a_report(workspace: Workspace, raw: bytes, outcome: MailboxPass) -> None:
    """A reply to a marketing email (or an auto-reply) is recorded; anything else is
    ``other``."""
    reply = reply_parse(raw)
    answered = reply_record(workspace=workspace, parsed=reply) if reply else None
    if answered is None or answered.reply is None:
        outcome.other += 1
    elif answered.created:
        outcome.replies += 1
    else:
        outcome.repeated += 1


def mailboxes_read_all() -> int:
    """The periodic pass: every workspace's bounce mailbox read once; a mailbox that
    fails is noted on its settings (``last_error``, shown on the page), the others go on."""
    recorded = 0
    rows = BounceSettings.objects.exclude(mailbox_kind=MailboxKind.NONE).select_related("workspace")
    for found in rows.order_by("workspace_id"):
        error = ""
        try:
            recorded += mailbox_read(workspace=found.workspace).recorded
        except OSError as failure:
            error = f"{type(failure).__name__}: {failure}"[:500]
        BounceSettings.objects.filter(pk=found.pk).update(
            last_checked_at=timezone.now(), last_error=error
        )
    return recorded
