"""The messenger channels' test kit: a local HTTP server standing in for api.telegram.org
and graph.facebook.com (the settings point at it), fixture bodies as the platforms send
them, signatures made as they make them, and the delivery task run as the worker runs it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leadflow.chat.channel_platforms import meta_signature
from leadflow.chat.models.channels import SECRET_ENV_PREFIX
from leadflow.chat.tasks import channel_deliver_task
from leadflow.core.secrets import secret_name_base

FIXTURES = Path(__file__).parent / "fixtures" / "messengers"
BOT_TOKEN = "7000000001:AAH-test-bot-token-9f3c1e"
ACCESS_TOKEN = "EAAGtest-access-token-0123456789"
APP_SECRET = "d3adb33f-app-secret-for-tests"
PHONE_NUMBER_ID = "106540352242922"
PAGE_ID = "112233445566778"


def secret_env(workspace, suffix: str) -> str:
    """The name of a variable holding one of the workspace's messenger secrets: its own
    (core.secrets), ``LEADFLOW_MESSENGER_W<id>_<suffix>``."""
    return secret_name_base(workspace.pk, SECRET_ENV_PREFIX) + "_" + suffix


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def signed(body: dict | bytes, secret: str = APP_SECRET) -> tuple[bytes, str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, meta_signature(secret, raw)


class Platform(BaseHTTPRequestHandler):
    """Answers every send as the platform does; ``refusals`` (a list of (status, body))
    are answered first, one per request. ``received`` lists (path, body, headers)."""

    received: list = []
    refusals: list = []
    lock = threading.Lock()

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with self.lock:
            Platform.received.append((self.path, body, dict(self.headers)))
            count = len(Platform.received)
            refusal = Platform.refusals.pop(0) if Platform.refusals else None
        if refusal is not None:
            status, answer = refusal
        elif self.path.startswith("/bot"):
            status = 200
            if self.path.endswith("/setWebhook"):
                answer = {"ok": True, "result": True, "description": "Webhook was set"}
            else:
                answer = {"ok": True, "result": {"message_id": 900 + count, "chat": {}}}
        elif "recipient" in body:
            status, answer = (
                200,
                {"recipient_id": body["recipient"]["id"], "message_id": f"m_out_{count}"},
            )
        else:
            status = 200
            answer = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": f"wamid.out.{count}"}],
            }
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def run_deliveries() -> int:
    """Run the delivery tasks that are due (as the worker would), until none is; how many."""
    runs = 0
    for _ in range(100):
        due = [
            row
            for row in DBTaskResult.objects.filter(
                task_path=channel_deliver_task.module_path, status="READY"
            )
            if row.run_after is None or row.run_after <= timezone.now() or row.run_after.year > 9000
        ]
        if not due:
            return runs
        for row in due:
            row.delete()
            channel_deliver_task.call(*row.args_kwargs["args"])
            runs += 1
    return runs


@pytest.fixture
def platform(settings, monkeypatch, workspace):
    """The stand-in platform on 127.0.0.1 (both API bases point at it), and the
    workspace's secrets in the environment."""
    monkeypatch.setenv(secret_env(workspace, "BOT"), BOT_TOKEN)
    monkeypatch.setenv(secret_env(workspace, "ACCESS"), ACCESS_TOKEN)
    monkeypatch.setenv(secret_env(workspace, "APP_SECRET"), APP_SECRET)
    Platform.received = []
    Platform.refusals = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.LEADFLOW_TELEGRAM_API_BASE = base
    settings.LEADFLOW_GRAPH_API_BASE = base
    yield Platform
    server.shutdown()
    server.server_close()
