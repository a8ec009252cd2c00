"""Landing page views per second against a bare Django hello-world view, same server, same run.

Needs PostgreSQL (DATABASE_URL) and wrk. A page with two variants (the lead-magnet starter
and its form) is published on a fresh database; every request is a new visitor (no
cookie): the view reads the published page (the process's cache, else one SELECT), picks
a variant by hash, sets the split cookie, puts a fresh time token in the form and counts
the view in the process's batch (written at most every 2 s per process). The baseline is
``/bench/hello``: a bare view answering a small HTML page. Target: 2,000 views/s or more.
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
request = function()
  return wrk.format("GET", nil, {["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) " ..
    "AppleWebKit/537.36 Chrome/131.0 Safari/537.36", ["Accept"] = "text/html"})
end
"""

PREPARE = """
import json
from django.core.management import call_command
call_command("migrate", verbosity=0)
from leadflow.capture.services import form_create
from leadflow.core.actors import Actor
from leadflow.core.services import workspace_create
from leadflow.pages import services
workspace, _ = workspace_create(name="Bench", owner_email="bench@example.com")
actor = Actor.system()
form = form_create(workspace=workspace, actor=actor, data={
    "name": "Guide", "fields": [{"name": "email", "type": "email", "required": True}]})
page = services.page_create(workspace=workspace, actor=actor,
                            data={"name": "Guide", "slug": "guide", "form_id": form.pk})
services.variant_create(workspace=workspace, page_id=page.pk, actor=actor)
services.page_publish(workspace=workspace, page_id=page.pk, actor=actor,
                      base_url="http://127.0.0.1:%d")
print(json.dumps([workspace.slug, page.pk]))
"""


def run() -> dict:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return {"skipped": "set DATABASE_URL=postgres://... (this benchmark needs PostgreSQL)"}
    wrk = common.ensure_wrk()
    database = common.fresh_database(base)
    env = common.bench_env(database)
    try:
        slug, page_id = json.loads(common.django_run(PREPARE % common.PORT, env).splitlines()[-1])
        kind, workers, threads = CONFIG
        server = common.server_start(kind, workers, threads, env)
        try:
            url = f"http://127.0.0.1:{common.PORT}"
            hello = common.wrk_run(wrk, f"{url}/bench/hello", LUA)
            page = common.wrk_run(wrk, f"{url}/lp/{slug}/guide/", LUA)
        finally:
            common.server_stop(server)
        counted = common.django_run(
            "import json\nfrom leadflow.pages.models import Variant\n"
            f"print(json.dumps(list(Variant.objects.filter(page_id={page_id})"
            ".order_by('label').values_list('views', flat=True))))",
            env,
        ).splitlines()[-1]
    finally:
        common.drop_database(database)
    views = json.loads(counted)
    return {
        "server": f"{kind} {workers} workers x {threads} threads",
        "connections": common.CONNECTIONS,
        "duration": common.DURATION,
        "hello_req_per_s": round(hello["rate"]),
        "hello_p99_ms": round(hello["p99_ms"], 1),
        "page_views_per_s": round(page["rate"]),
        "page_p50_ms": round(page["p50_ms"], 1),
        "page_p99_ms": round(page["p99_ms"], 1),
        "ratio_page_vs_hello": round(page["rate"] / hello["rate"], 3),
        "page_non_2xx": page["non_2xx"],
        "views_written_per_variant": views,
        "split_a_share": round(views[0] / sum(views), 3) if sum(views) else None,
        "target_views_per_s": 2000,
        "meets_target": page["rate"] >= 2000,
    }
