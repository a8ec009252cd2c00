"""Sustained JSON form submissions against a bare one-INSERT endpoint, same server, same run.

Needs PostgreSQL (DATABASE_URL) and wrk (installed from Debian's packages when missing).
For each server configuration (granian WSGI and gunicorn, several worker/thread counts)
it starts the web tier on a fresh database, then drives both endpoints with wrk from the
same machine (the load generator shares the 2 cores): submissions per second, p50/p99
latency, and the ratio capture / bare. Every capture request is a new lead (unique email
and submission_id) through the whole public path: validation, anti-spam token check,
contact upsert, submission row, consent record, activity, notification task enqueued.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

DURATION = os.environ.get("BENCH_CAPTURE_DURATION", "15s")
CONNECTIONS = int(os.environ.get("BENCH_CAPTURE_CONNECTIONS", "16"))
PORT = int(os.environ.get("BENCH_CAPTURE_PORT", "8765"))
CONFIGS = [
    c
    for c in [
        ("granian 2 workers x 4 threads", "granian", 2, 4),
        ("granian 4 workers x 4 threads", "granian", 4, 4),
        ("granian 4 workers x 8 threads", "granian", 4, 8),
        ("gunicorn gthread 4 workers x 4 threads", "gunicorn", 4, 4),
    ]
    if not os.environ.get("BENCH_CAPTURE_ONLY") or os.environ["BENCH_CAPTURE_ONLY"] in c[0]
]

LUA_CAPTURE = r"""
local counter = 0
local thread_id = 0
function setup(thread)
  thread:set("tid", tostring(math.random(100000, 999999)))
end
function init(args)
  math.randomseed(os.time() + tonumber(tid))
  token = args[1]
end
local function hex(n)
  local s = ""
  for i = 1, n do s = s .. string.format("%x", math.random(0, 15)) end
  return s
end
request = function()
  counter = counter + 1
  local id = hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
  local body = '{"submission_id":"' .. id .. '","token":"' .. token .. '",' ..
    '"fields":{"email":"lead' .. tid .. '-' .. counter .. '@globex-bench.com",' ..
    '"first_name":"Lead","last_name":"Bench' .. tid .. '-' .. counter .. '",' ..
    '"company":"Globex","consent":true},' ..
    '"context":{"page_url":"https://www.example.com/demo",' ..
    '"referrer":"https://www.google.com/",' ..
    '"utm":{"utm_source":"google","utm_medium":"cpc","utm_campaign":"bench"},' ..
    '"visitor_id":"v-' .. id .. '"}}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""

LUA_BARE = r"""
request = function()
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
    '{"fields":{"email":"lead@globex-bench.com","first_name":"Lead"}}')
end
"""


def _ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL
    )
    return shutil.which("wrk") or "wrk"


def _fresh_database(base_url: str) -> str:
    import psycopg

    name = f"leadflow_bench_capture_{os.getpid()}"
    admin = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return base_url.rsplit("/", 1)[0] + "/" + name


def _drop_database(url: str) -> None:
    import psycopg

    admin, name = url.rsplit("/", 1)
    with psycopg.connect(admin + "/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _prepare(env: dict) -> tuple[str, str]:
    """Migrate, create the bench table, a workspace and a form; return (form key, token)."""
    code = """
import django, json
django.setup()
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS bench_bare_insert (id bigserial primary key, "
                   "payload jsonb, created_at timestamptz default now())")
from leadflow.core.services import workspace_create
from leadflow.core.actors import Actor
from leadflow.capture.services import form_create
from leadflow.capture.antispam import form_token_issue
workspace, owner = workspace_create(name="Bench", owner_email="bench@example.com")
form = form_create(workspace=workspace, actor=Actor.system(), data={
    "name": "Demo request", "min_fill_seconds": 0, "tags": ["bench"], "lifecycle_stage": "lead",
    "fields": [
        {"name": "email", "type": "email", "required": True, "maps_to": "email"},
        {"name": "first_name", "type": "text", "maps_to": "first_name"},
        {"name": "last_name", "type": "text", "maps_to": "last_name"},
        {"name": "company", "type": "text", "maps_to": "company"},
        {"name": "consent", "type": "consent", "required": True,
         "consent_text": "I agree to be contacted."}]})
print(json.dumps([form.key, form_token_issue(form)]))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    key, token = json.loads(out.stdout.strip().splitlines()[-1])
    return key, token


def _server_command(kind: str, workers: int, threads: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if kind == "granian":
        return [
            str(bin_dir / "granian"),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(PORT),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-ws",
            "--log-level",
            "warning",
            "leadflow.config.wsgi:application",
        ]
    return [
        str(bin_dir / "gunicorn"),
        "-b",
        f"127.0.0.1:{PORT}",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-k",
        "gthread",
        "--log-level",
        "warning",
        "leadflow.config.wsgi:application",
    ]


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url}")


def _wrk(wrk: str, url: str, script: str, *args: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    result = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{DURATION}",
            "--latency",
            "-s",
            handle.name,
            url,
            "--",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    os.unlink(handle.name)
    text = result.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))

    def percentile(label: str) -> float:
        match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", text)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    return {
        "rate": rate,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def run() -> dict:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return {"skipped": "set DATABASE_URL=postgres://... (this benchmark needs PostgreSQL)"}
    wrk = _ensure_wrk()
    results: dict = {"duration": DURATION, "connections": CONNECTIONS}
    best = None
    for label, kind, workers, threads in CONFIGS:
        database = _fresh_database(base)
        env = {
            **os.environ,
            "DATABASE_URL": database,
            "LEADFLOW_BENCH_ENDPOINTS": "1",
            "LEADFLOW_FORM_RATE_PER_IP": "0",
            "LEADFLOW_FORM_RATE_PER_FORM": "0",
            "LEADFLOW_DEMO": "0",
            "DJANGO_SETTINGS_MODULE": "leadflow.config.settings",
            "DATABASE_CONN_MAX_AGE": "600",
        }
        try:
            key, token = _prepare(env)
            server = subprocess.Popen(
                _server_command(kind, workers, threads),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            try:
                _wait(f"http://127.0.0.1:{PORT}/healthz")
                bare = _wrk(wrk, f"http://127.0.0.1:{PORT}/bench/bare-insert", LUA_BARE)
                capture = _wrk(wrk, f"http://127.0.0.1:{PORT}/f/{key}", LUA_CAPTURE, token)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            stored = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import django; django.setup(); "
                    "from leadflow.capture.models import Submission; "
                    "print(Submission.objects.filter(status='accepted').count())",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        finally:
            _drop_database(database)
        ratio = capture["rate"] / bare["rate"]
        results[label] = {
            "bare_req_per_s": round(bare["rate"]),
            "bare_p99_ms": round(bare["p99_ms"], 1),
            "capture_per_s": round(capture["rate"]),
            "capture_p50_ms": round(capture["p50_ms"], 1),
            "capture_p99_ms": round(capture["p99_ms"], 1),
            "ratio_capture_vs_bare": round(ratio, 3),
            "capture_non_2xx": capture["non_2xx"],
            "stored_submissions": int(stored),
        }
        if best is None or capture["rate"] > best[1]:
            best = (label, capture["rate"])
        print(f"   {label}: {results[label]}", flush=True)
    results["fastest_capture_config"] = best[0] if best else None
    return results
