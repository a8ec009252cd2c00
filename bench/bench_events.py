"""Tracking events ingested per second in batches of 50, against a bare bulk INSERT.

Needs PostgreSQL (DATABASE_URL) and wrk. The same server answers both: POST /e (the
tracker's endpoint: validation, bot check, origin check, visitor and visit upserts,
channel classification, one multi-row INSERT ... ON CONFLICT DO NOTHING) and a bare
endpoint that bulk-inserts the same 50 rows into the same table without any of that.
Each request is a new visitor's batch of 50 events with fresh event ids.
"""

import json
import os

import common

CONFIG = (
    "granian",
    int(os.environ.get("BENCH_WORKERS", str(max(2, os.cpu_count() or 2)))),
    int(os.environ.get("BENCH_THREADS", "4")),
)

LUA = r"""
local counter = 0
function setup(thread)
  thread:set("tid", tostring(math.random(100000, 999999)))
end
function init(args)
  math.randomseed(os.time() + tonumber(tid))
  key = args[1]
  workspace_id = args[2]
end
local function hex(n)
  local s = ""
  for i = 1, n do s = s .. string.format("%x", math.random(0, 15)) end
  return s
end
request = function()
  counter = counter + 1
  local visitor = "v" .. tid .. "-" .. counter .. "-" .. hex(8)
  local now = os.time() * 1000
  local parts = {}
  for i = 1, 50 do
    local id = hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
    local session = ""
    if i == 1 then
      session = ',"session":{"landing_page":"https://www.example.com/?utm_source=google",' ..
        '"referrer":"https://www.google.com/","utm":{"utm_source":"google",' ..
        '"utm_medium":"cpc","utm_campaign":"bench"},"click_ids":{"gclid":"x' .. i .. '"}}'
    end
    parts[i] = '{"id":"' .. id .. '","type":"pageview","name":"",' ..
      '"url":"https://www.example.com/page-' .. i .. '","referrer":"",' ..
      '"ts":' .. (now - (50 - i) * 1000) .. ',"props":{"title":"Page ' .. i .. '"}' ..
      session .. '}'
  end
  local body = '{"key":"' .. key .. '","workspace_id":' .. workspace_id ..
    ',"visitor_id":"' .. visitor .. '","session_id":"s' .. visitor .. '","events":[' ..
    table.concat(parts, ",") .. ']}'
  return wrk.format("POST", nil, {["Content-Type"] = "text/plain",
    ["Origin"] = "https://www.example.com",
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " ..
      "Chrome/131.0 Safari/537.36"},
    body)
end
"""


def run() -> dict:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return {"skipped": "set DATABASE_URL=postgres://... (this benchmark needs PostgreSQL)"}
    wrk = common.ensure_wrk()
    database = common.fresh_database(base)
    env = common.bench_env(database)
    try:
        common.django_run(
            "from django.core.management import call_command\ncall_command('migrate', verbosity=0)",
            env,
        )
        key, workspace_id = json.loads(
            common.django_run(
                "import json\nfrom leadflow.core.services import workspace_create\n"
                "w, _ = workspace_create(name='Bench', owner_email='bench@example.com')\n"
                "print(json.dumps([w.public_key, w.pk]))",
                env,
            ).splitlines()[-1]
        )
        kind, workers, threads = CONFIG
        server = common.server_start(kind, workers, threads, env)
        try:
            url = f"http://127.0.0.1:{common.PORT}"
            bare = common.wrk_run(wrk, f"{url}/bench/bare-events", LUA, key, str(workspace_id))
            ingest = common.wrk_run(wrk, f"{url}/e", LUA, key, str(workspace_id))
        finally:
            common.server_stop(server)
        stored = int(
            common.django_run(
                "from leadflow.tracking.models import Event, VisitSession\n"
                f"print(Event.objects.filter(workspace_id={workspace_id}, session_id__isnull=False)"
                ".count())",
                env,
            ).splitlines()[-1]
        )
    finally:
        common.drop_database(database)
    return {
        "server": f"{kind} {workers} workers x {threads} threads",
        "connections": common.CONNECTIONS,
        "duration": common.DURATION,
        "bare_events_per_s": round(bare["rate"] * 50),
        "bare_p99_ms": round(bare["p99_ms"], 1),
        "ingest_events_per_s": round(ingest["rate"] * 50),
        "ingest_p50_ms": round(ingest["p50_ms"], 1),
        "ingest_p99_ms": round(ingest["p99_ms"], 1),
        "ratio_ingest_vs_bare": round(ingest["rate"] / bare["rate"], 3),
        "ingest_non_2xx": ingest["non_2xx"],
        "events_stored_through_e": stored,
    }
