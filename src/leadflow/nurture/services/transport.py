"""How a marketing email is put together and handed over: its headers (Message-ID derived
from the message and the contact, RFC 8058 one-click unsubscribe), DKIM signing with
dkimpy, and the mail-server session of the workspace (its own SMTP settings, else the
installation's ``MAILERS``).

Secrets are read from the environment when the email is sent, never stored: the SMTP
password from ``SmtpSettings.password_env`` (``LEADFLOW_SMTP_PASSWORD_W<workspace id>…``),
the DKIM key from ``dkim_key_env`` (``LEADFLOW_DKIM_KEY_W<workspace id>…``) or a file in
``LEADFLOW_DKIM_KEY_DIR``. A name that is not the workspace's own reads as unset
(core.secrets).
"""

import re
import smtplib
import uuid
from email.header import Header
from email.quoprimime import body_encode
from email.utils import formataddr, formatdate
from pathlib import Path

import dkim
from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.core.mail.backends.smtp import EmailBackend
from django.utils.crypto import salted_hmac

from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.secrets import secret_name_error, secret_name_problems, secret_read
from leadflow.nurture.links import UnsubscribeLink, unsubscribe_url
from leadflow.nurture.models import (
    DKIM_KEY_ENV_PREFIX,
    PASSWORD_ENV_PREFIX,
    SendingIdentity,
    SmtpSettings,
    TlsMode,
)
from leadflow.nurture.services.rendering import UNSUBSCRIBE_MARK, Rendered

MESSAGE_ID_SALT = "leadflow.nurture.message-id"
# What the DKIM signature covers: the unsubscribe headers too, so no relay can alter them.
SIGNED_HEADERS = [
    b"From", b"To", b"Subject", b"Date", b"Message-ID", b"Reply-To", b"MIME-Version",
    b"Content-Type", b"List-Unsubscribe", b"List-Unsubscribe-Post",
]  # fmt: skip
KEY_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SMTP_TIMEOUT = 10
SECRET_PREFIXES = {"password_env": PASSWORD_ENV_PREFIX, "dkim_key_env": DKIM_KEY_ENV_PREFIX}


def message_id_for(
    *, message_pk: int, contact_pk: int | None, step: int = 0, entry: int = 0, domain: str
) -> str:
    """The Message-ID of one delivery: the same on every try (a resend after a review is
    recognisable as the same email), not guessable without the site's secret."""
    digest = salted_hmac(
        MESSAGE_ID_SALT, f"{message_pk}:{contact_pk}:{step}:{entry}", algorithm="sha256"
    ).hexdigest()[:24]
    where = f"{message_pk}.{contact_pk or 0}" + (f".{step}.{entry}" if step or entry else "")
    return f"<{digest}.{where}@{domain}>"


def _header(value: str) -> str:
    """A header value on one line: ASCII as it is, anything else as RFC 2047 words."""
    value = " ".join(value.split())
    return value if value.isascii() else Header(value, "utf-8").encode(linesep="\r\n")


def _quoted_printable(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    return body_encode(lines.encode("utf-8").decode("latin-1"), eol="\r\n")


def address_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower() or "localhost"


class PreparedEmail(EmailMessage):
    """An email whose bytes are final (signed): every Django mail backend sends exactly
    these, as DKIM needs (a re-serialised message could differ from what was signed)."""

    def __init__(self, raw: bytes, *, from_email: str, to: list[str]):
        super().__init__(from_email=from_email, to=to)
        self.raw = raw

    def message(self, *, policy=None):
        return _Raw(self.raw)


class _Raw:
    def __init__(self, raw: bytes):
        self.raw = raw

    def as_bytes(self, *args, **kwargs) -> bytes:
        return self.raw

    def __bytes__(self) -> bytes:
        return self.raw


class DkimKey:
    """A workspace's DKIM signer (domain, selector, private key)."""

    def __init__(self, *, domain: str, selector: str, private_key: bytes):
        self.domain = domain.encode()
        self.selector = selector.encode()
        self.private_key = private_key

    def sign(self, raw: bytes) -> bytes:
        signature = dkim.sign(
            raw,
            self.selector,
            self.domain,
            self.private_key,
            include_headers=SIGNED_HEADERS,
            canonicalize=(b"relaxed", b"relaxed"),
        )
        return signature + raw


def dkim_key(smtp: SmtpSettings | None) -> DkimKey | None:
    """The workspace's DKIM signer, or None when signing is not set up. A key that is
    configured but missing raises ValidationFailed (the email would go unsigned)."""
    if smtp is None or not (smtp.dkim_domain and smtp.dkim_selector):
        return None
    key = b""
    if smtp.dkim_key_env:
        key = smtp_secret(smtp, "dkim_key_env").encode()
    elif smtp.dkim_key_file:
        try:
            key = (Path(settings.LEADFLOW_DKIM_KEY_DIR) / smtp.dkim_key_file).read_bytes()
        except OSError:
            key = b""
    if not key.strip():
        raise ValidationFailed(
            [FieldError("dkim_key_env", "The DKIM private key is not there (see sending.md).")]
        )
    return DkimKey(domain=smtp.dkim_domain, selector=smtp.dkim_selector, private_key=key)


def smtp_secret(smtp: SmtpSettings, field: str) -> str:
    """The value of the variable the settings' ``field`` (``password_env``,
    ``dkim_key_env``) names: "" when it is unset or not this workspace's to name."""
    return secret_read(smtp.workspace_id, SECRET_PREFIXES[field], getattr(smtp, field))


def smtp_secret_problems(smtp: SmtpSettings) -> dict[str, str]:
    """For each name saved that is not this workspace's: the line saying to rename it."""
    return secret_name_problems(smtp, SECRET_PREFIXES)


def smtp_settings_check(workspace_id: int, data: dict) -> None:
    """The rules of SMTP settings: environment names the workspace's own (core.secrets),
    a key file named (never a path), TLS mode known, a port in range."""
    errors = []
    for field, prefix in SECRET_PREFIXES.items():
        name = data.get(field) or ""
        problem = secret_name_error(workspace_id, prefix, name) if name else None
        if problem:
            errors.append(FieldError(field, problem))
    name = data.get("dkim_key_file") or ""
    if name and (not KEY_FILE_NAME.fullmatch(name) or ".." in name):
        errors.append(FieldError("dkim_key_file", "A file name in the DKIM key directory only."))
    if data.get("tls_mode", TlsMode.STARTTLS) not in TlsMode.values:
        errors.append(FieldError("tls_mode", "Unknown TLS mode."))
    if not 1 <= int(data.get("port") or 587) <= 65535:
        errors.append(FieldError("port", "Between 1 and 65535."))
    if (data.get("dkim_domain") or "") and not (data.get("dkim_selector") or ""):
        errors.append(FieldError("dkim_selector", "Needed with a DKIM domain."))
    if errors:
        raise ValidationFailed(errors)


def mail_connection(smtp: SmtpSettings | None):
    """A mail-server session (a Django mail backend, opened by ``with``): the workspace's
    own server when its settings name a host, else the installation's default mailer."""
    if smtp is None or not smtp.host:
        return mailers.default
    return EmailBackend(
        host=smtp.host,
        port=smtp.port,
        username=smtp.username,
        password=smtp_secret(smtp, "password_env"),
        use_tls=smtp.tls_mode == TlsMode.STARTTLS,
        use_ssl=smtp.tls_mode == TlsMode.SSL,
        timeout=SMTP_TIMEOUT,
        alias=f"nurture-workspace-{smtp.workspace_id}",
    )


def email_build(
    *,
    rendered: Rendered,
    identity: SendingIdentity,
    to: str,
    message_id: str,
    unsubscribe: UnsubscribeLink,
    signer: DkimKey | None,
    base_url: str = "",
) -> PreparedEmail:
    """The email's final bytes: both parts, the identity's From and Reply-To, the derived
    Message-ID, one-click unsubscribe (RFC 8058), signed when the workspace has DKIM."""
    link = unsubscribe_url(unsubscribe, base_url)
    if any(character in to for character in " \r\n<>,;"):
        raise ValueError("Not a single address.")  # never a header injection
    # Written out directly (RFC 5322 headers, a multipart/alternative body in
    # quoted-printable): the same bytes a mail client reads, and ten times faster than the
    # standard library's generator, which was most of the cost of a send (bench_send.py).
    boundary = f"==lf-{uuid.uuid4().hex}=="  # "==" never occurs in quoted-printable text
    headers = [
        f"Subject: {_header(rendered.subject)}",
        f"From: {formataddr((identity.from_name, identity.from_address), charset='utf-8')}",
        f"To: {to}",
    ]
    if identity.reply_to:
        headers.append(f"Reply-To: {identity.reply_to}")
    headers += [
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {message_id}",
        f"List-Unsubscribe: <{link}>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    parts = []
    for subtype, body in (("plain", rendered.text), ("html", rendered.html)):
        if UNSUBSCRIBE_MARK in body:  # the body's own unsubscribe link, {{ unsubscribe_url }}
            body = body.replace(UNSUBSCRIBE_MARK, link)
        parts += [
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            _quoted_printable(body),
        ]
    raw = "\r\n".join([*headers, "", *parts, f"--{boundary}--", ""]).encode("ascii")
    if signer is not None:
        raw = signer.sign(raw)
    return PreparedEmail(raw, from_email=identity.from_address, to=[to])


def email_hand_over(connection, prepared: PreparedEmail) -> None:
    """Give one email to the mail server of an open session: straight to smtplib on an SMTP
    session (the bytes are final), through the backend otherwise (the file outbox)."""
    session = getattr(connection, "connection", None)
    if isinstance(session, smtplib.SMTP):
        session.sendmail(prepared.from_email, prepared.to, prepared.raw)
    else:
        connection.send_messages([prepared])
