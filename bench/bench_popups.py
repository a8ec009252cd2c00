"""Pop-up configuration answers (GET /e/popups) under load, against /healthz in the same run.

Needs PostgreSQL (DATABASE_URL) and wrk (installed from Debian's packages when missing).
The web tier (granian WSGI, 4 workers x 4 threads, as bench_capture found fastest) serves
a workspace with five active pop-ups, one of them for identified visitors matching a
condition (so every request looks up its visitor, and identified ones run the condition
query). wrk asks for the configuration as popups.js does, each request with one of 1,000
visitor ids (half of them identified) and UTM tags, none answered from a cache; and once
without a visitor id. The baseline is /healthz in the same server: Django plus one SELECT 1.
Figures: requests per second, p50 and p99 latency of each, and the ratios.
"""

import json
import os
import subprocess
import sys

import common

VISITORS = 1000

LUA_CONFIG = r"""
function init(args)
  key = args[1]
  math.randomseed(os.time())
end
request = function()
  local n = math.random(0, 999)
  local path = string.format(
    "/e/popups?key=%s&v=bench-visitor-%04d&us=google&um=cpc&uc=spring&ck=gclid&r=&s=https%%3A%%2F%%2Fwww.example.com",
    key, n)
  return wrk.format("GET", path, {["Origin"] = "https://www.example.com"})
end
"""

# The same without a visitor id (the tracker off, or its first page before consent): no
# visitor or contact query at all.
LUA_ANONYMOUS = LUA_CONFIG.replace("&v=bench-visitor-%04d", "&n=%04d")

LUA_BARE = r"""
request = function()
  return wrk.format("GET", "/healthz")
end
"""


def _prepare(env: dict) -> str:
    """Migrate; a workspace, a form, five active pop-ups and the visitors; its public key."""
    code = f"""
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from leadflow.core.services import workspace_create
from leadflow.core.actors import Actor
from leadflow.capture.services import form_create
from leadflow.capture.popups.services import popup_create
from leadflow.contacts.services import contact_upsert
from leadflow.tracking.models import Visitor
workspace, owner = workspace_create(name="Bench", owner_email="bench@example.com")
actor = Actor.system()
form = form_create(workspace=workspace, actor=actor, data={{
    "name": "Guide", "fields": [{{"name": "email", "type": "email", "required": True}}]}})
for index in range(4):
    popup_create(workspace=workspace, actor=actor, data={{
        "name": f"Pop-up {{index}}", "title": "Get the guide", "status": "active",
        "content": "form", "form_id": form.pk,
        "triggers": {{"scroll_percent": 50, "exit_intent": True}},
        "targeting": {{"include": ["/blog/*"], "utm_source": ["goo*"]}}}})
popup_create(workspace=workspace, actor=actor, data={{
    "name": "Not for customers", "title": "Subscribe", "status": "active",
    "targeting": {{"conditions": {{"field": "lifecycle_stage", "operator": "ne",
                                  "value": "customer"}}}}}})
rows = []
for index in range({VISITORS}):
    contact = None
    if index % 2 == 0:
        contact = contact_upsert(workspace=workspace, actor=actor, data={{
            "email": f"visitor{{index}}@globex-bench.com",
            "lifecycle_stage": "customer" if index % 4 == 0 else "lead"}}).contact
    rows.append(Visitor(workspace=workspace, visitor_key=f"bench-visitor-{{index:04d}}",
                        contact=contact))
Visitor.objects.bulk_create(rows)
print(json.dumps(workspace.public_key))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> dict:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return {"skipped": "set DATABASE_URL=postgres://... (this benchmark needs PostgreSQL)"}
    wrk = common.ensure_wrk()
    database = common.fresh_database(base)
    env = common.bench_env(database)
    try:
        key = _prepare(env)
        server = common.server_start("granian", 4, 4, env)
        try:
            url = f"http://127.0.0.1:{common.PORT}"
            bare = common.wrk_run(wrk, f"{url}/healthz", LUA_BARE)
            anonymous = common.wrk_run(wrk, f"{url}/e/popups", LUA_ANONYMOUS, key)
            config = common.wrk_run(wrk, f"{url}/e/popups", LUA_CONFIG, key)
        finally:
            common.server_stop(server)
    finally:
        common.drop_database(database)
    return {
        "duration": common.DURATION,
        "connections": common.CONNECTIONS,
        "server": "granian 4 workers x 4 threads",
        "bare_healthz_per_s": round(bare["rate"]),
        "bare_healthz_p99_ms": round(bare["p99_ms"], 1),
        "anonymous_config_per_s": round(anonymous["rate"]),
        "anonymous_config_p50_ms": round(anonymous["p50_ms"], 1),
        "anonymous_config_p99_ms": round(anonymous["p99_ms"], 1),
        "ratio_anonymous_vs_healthz": round(anonymous["rate"] / bare["rate"], 3),
        "popup_config_per_s": round(config["rate"]),
        "popup_config_p50_ms": round(config["p50_ms"], 1),
        "popup_config_p99_ms": round(config["p99_ms"], 1),
        "ratio_config_vs_healthz": round(config["rate"] / bare["rate"], 3),
        "popup_config_non_2xx": config["non_2xx"] + anonymous["non_2xx"],
    }
