"""Operator endpoints: a health check that touches the database."""

from django.db import connection
from django.http import HttpRequest, JsonResponse

from leadflow.core.middleware import database_unavailable_response, is_database_unavailable


def health(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not (for load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        if is_database_unavailable(error):
            return database_unavailable_response()
        raise
    return JsonResponse({"status": "ok"})


def bench_bare_insert(request: HttpRequest) -> JsonResponse:
    """Benchmark baseline (only routed with LEADFLOW_BENCH_ENDPOINTS=1): read the JSON body
    and do one INSERT, nothing else. bench/ creates its table."""
    import json

    from django.http import HttpResponseNotAllowed

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    payload = json.loads(request.body or b"{}")
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare_insert (payload) VALUES (%s)", [json.dumps(payload)])
    return JsonResponse({"status": "stored"}, status=201)


def bench_bare_bulk_insert(request: HttpRequest) -> JsonResponse:
    """Benchmark baseline (only routed with LEADFLOW_BENCH_ENDPOINTS=1): the same event
    rows as POST /e, bulk-inserted with no validation, visitor or session work."""
    import json

    from django.http import HttpResponseNotAllowed
    from django.utils import timezone

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    batch = json.loads(request.body or b"{}")
    events = batch["events"]
    now = timezone.now()
    marks = ", ".join(
        ["(%s, %s, NULL, NULL, NULL, %s, %s, %s, %s, %s, to_timestamp(%s / 1000.0), %s)"]
        * len(events)
    )
    params = []
    for event in events:
        params += [
            batch.get("workspace_id", 0),
            event["id"],
            event["type"],
            event.get("name", ""),
            event.get("url", ""),
            event.get("referrer", ""),
            json.dumps(event.get("props") or {}),
            event["ts"],
            now,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tracking_event (workspace_id, event_id, visitor_id, session_id, "  # noqa: S608
            "contact_id, event_type, name, url, referrer, properties, occurred_at, received_at) "
            f"VALUES {marks}",
            params,
        )
    return JsonResponse({"accepted": len(events)}, status=202)
