"""Shared by the sending tests: a real SMTP server (aiosmtpd) that keeps raw messages, a
DKIM key made with openssl, and a workspace set up to send (identity, template, message,
contacts)."""

import asyncio
import email
import email.policy
import subprocess
import threading

from aiosmtpd.controller import Controller

from leadflow.contacts.models import Contact
from leadflow.nurture.models import PacingSettings
from leadflow.nurture.services import sending
from leadflow.nurture.services import settings as email_settings
from tests.capture.test_notifications import free_port


class RawInbox:
    """Keeps every message's raw bytes and envelope (thread-safe: aiosmtpd's loop)."""

    def __init__(self, answer_delay: float = 0.0):
        self.raw: list[tuple[bytes, list[str]]] = []
        self.lock = threading.Lock()
        self.answer_delay = answer_delay

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.raw.append((envelope.original_content or envelope.content, envelope.rcpt_tos))
        if self.answer_delay:
            # Kept, then answered late: a sender killed meanwhile never hears that it went.
            await asyncio.sleep(self.answer_delay)
        return "250 Message accepted for delivery"

    def messages(self) -> list:
        with self.lock:
            return [
                email.message_from_bytes(raw, policy=email.policy.default) for raw, _ in self.raw
            ]


def smtp_server(answer_delay: float = 0.0) -> tuple[Controller, RawInbox]:
    inbox = RawInbox(answer_delay)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, inbox


def dkim_keys(directory) -> tuple[bytes, str]:
    """A fresh 1024-bit RSA key: (private key PEM, the DNS TXT record's p= value)."""
    key = directory / "dkim.pem"
    subprocess.run(
        ["openssl", "genrsa", "-traditional", "-out", str(key), "1024"],
        check=True,
        capture_output=True,
    )
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    import base64

    return key.read_bytes(), base64.b64encode(public).decode()


def contacts_make(workspace, number: int, *, consent=lambda i: "granted", start: int = 0):
    """``number`` contacts (bulk: the subject here is sending, not contact creation)."""
    Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace,
                email=f"person{i}@example.net",
                first_name=f"Person{i}",
                consent_status=consent(i),
            )
            for i in range(start, start + number)
        ]
    )
    return list(
        Contact.objects.filter(workspace=workspace).order_by("id").values_list("id", flat=True)
    )


def message_make(workspace, *, port: int, dkim: dict | None = None, quiet: bool = False):
    """A message ready to go through the SMTP server on ``port``; quiet hours are off
    unless asked (the subject here is sending, whatever the hour the tests run at)."""
    PacingSettings.objects.update_or_create(workspace=workspace, defaults={"quiet_enabled": quiet})
    identity = email_settings.identity_create(
        workspace=workspace,
        data={
            "from_name": "Acme News",
            "from_address": "news@acme-widgets.com",
            "reply_to": "hello@acme-widgets.com",
        },
    )
    template = email_settings.template_create(
        workspace=workspace,
        data={
            "name": "Spring",
            "subject": 'Hi {{ contact.first_name|default:"there" }}',
            "html_body": (
                '<p>Hello {{ contact.first_name|default:"there" }},</p>'
                '<p><a href="https://acme-widgets.com/spring">Our spring offer</a></p>'
            ),
        },
    )
    email_settings.smtp_settings_save(
        workspace=workspace,
        data={"host": "127.0.0.1", "port": port, "tls_mode": "none", **(dkim or {})},
    )
    return sending.message_create(
        workspace=workspace, name="Spring news", template_id=template.pk, identity_id=identity.pk
    )
