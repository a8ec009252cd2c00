"""A real local HTTP receiver that speaks the Twilio-compatible API, the provider set up
against it, and contacts with a phone and SMS consent; and the provider's side of its
webhooks (signed posts)."""

import base64
import hashlib
import hmac
import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from leadflow.contacts.models import ConsentSource, Contact
from leadflow.contacts.services import ConsentGiven, consent_record
from leadflow.core.actors import Actor
from leadflow.core.secrets import secret_name_base
from leadflow.nurture.models import PacingSettings
from leadflow.nurture.models.sms import TOKEN_ENV_PREFIX
from leadflow.nurture.services.sequences import sequence_create, sequence_status_set
from leadflow.nurture.services.sms import sms_settings_save

TOKEN = "secret-token"


def token_env(workspace) -> str:
    """The name of the variable holding the workspace's token: its own (core.secrets)."""
    return secret_name_base(workspace.pk, TOKEN_ENV_PREFIX) + "_TEST"


class Receiver(BaseHTTPRequestHandler):
    received: list = []
    answer = 201
    refusal: dict | None = None  # the JSON body of an answer that is not 2xx

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        body = parse_qs(self.rfile.read(length).decode())
        self.received.append(
            {
                "path": self.path,
                "auth": self.headers["Authorization"],
                **{k: v[0] for k, v in body.items()},
            }
        )
        self.send_response(self.answer)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        body = {"sid": f"SM{len(self.received):04d}"}
        if self.answer >= 300 and self.refusal is not None:
            body = self.refusal
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


def setup(
    workspace,
    owner_actor,
    port,
    text="Hi {{ contact.first_name }}, 20% off today",
    base_url="",
    name="Texts",
):
    PacingSettings.objects.update_or_create(workspace=workspace, defaults={"quiet_enabled": False})
    sms_settings_save(
        workspace=workspace,
        data={
            "api_base": f"http://127.0.0.1:{port}",
            "account_sid": "AC123",
            "from_number": "+14155550100",
            "token_env": token_env(workspace),
        },
        base_url=base_url,
    )
    sequence = sequence_create(
        workspace=workspace,
        actor=owner_actor,
        values={"name": name, "steps": [{"id": 1, "type": "sms", "text": text}]},
    )
    return sequence_status_set(
        workspace=workspace, actor=owner_actor, sequence_id=sequence.pk, status="active"
    )


def person(workspace, email, phone="", consent="granted", first_name="Ann", sms=None):
    """A contact; ``sms`` (default: ``consent``) is its status for the ``sms`` purpose,
    written through the ledger (none for "unknown")."""
    contact = Contact.objects.create(
        workspace=workspace,
        email=email,
        phone=phone,
        consent_status=consent,
        first_name=first_name,
        country="US",
    )
    status = consent if sms is None else sms
    if status != "unknown":
        consent_record(
            workspace=workspace,
            contact=contact,
            given=ConsentGiven(purpose="sms", status=status, source=ConsentSource.API),
            actor=Actor.system(),
        )
    return contact


def signature(url: str, params: dict, token: str = TOKEN) -> str:
    """Twilio's X-Twilio-Signature, written from its documentation (the URL, then each
    parameter's name and value in name order, HMAC-SHA1 with the token, base64)."""
    text = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()
