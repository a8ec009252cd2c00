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
import subprocess
import sys

import common

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


def run() -> dict:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return {"skipped": "set DATABASE_URL=postgres://... (this benchmark needs PostgreSQL)"}
    wrk = common.ensure_wrk()
    results: dict = {"duration": common.DURATION, "connections": common.CONNECTIONS}
    best = None
    for label, kind, workers, threads in CONFIGS:
        database = common.fresh_database(base)
        env = common.bench_env(database)
        try:
            key, token = _prepare(env)
            server = common.server_start(kind, workers, threads, env)
            try:
                url = f"http://127.0.0.1:{common.PORT}"
                bare = common.wrk_run(wrk, f"{url}/bench/bare-insert", LUA_BARE)
                capture = common.wrk_run(wrk, f"{url}/f/{key}", LUA_CAPTURE, token)
            finally:
                common.server_stop(server)
            stored = common.django_run(
                "from leadflow.capture.models import Submission\n"
                "print(Submission.objects.filter(status='accepted').count())",
                env,
            )
        finally:
            common.drop_database(database)
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
