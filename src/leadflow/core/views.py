"""Operator endpoints (a health check that touches the database) and the answers to
requests that fail outside any view's own handling (handler400, handler500)."""

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils import timezone
from django.views import defaults

from leadflow.core.middleware import (
    answers_json,
    database_unavailable_response,
    error_response,
    is_database_unavailable,
    public_error,
)
from leadflow.core.problems import problem_response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: problem+json to the API and to scripts on the public endpoints (they
    cannot read an HTML page), the app's error page to a browser."""
    if answers_json(request):
        return public_error(
            request,
            problem_response(
                500,
                "LeadFlow could not finish this request; nothing was stored.",
                code="server_error",
            ),
        )
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400 (a body Django refuses to parse: too many fields, a malformed multipart,
    a suspicious operation): problem+json or a page, as ``server_error``."""
    return error_response(request, 400, "This request could not be read.")


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


def bench_hello(request: HttpRequest) -> HttpResponse:
    """Benchmark baseline (only routed with LEADFLOW_BENCH_ENDPOINTS=1): a bare Django view
    answering a small HTML page, no database (bench_pages compares page views with it)."""
    return HttpResponse("<!doctype html><title>Hello</title><p>Hello, world.</p>")


def bench_bare_insert(request: HttpRequest) -> JsonResponse:
    """Benchmark baseline (only routed with LEADFLOW_BENCH_ENDPOINTS=1): read the JSON body
    and do one INSERT, nothing else. bench/ creates its table."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    payload = json.loads(request.body or b"{}")
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare_insert (payload) VALUES (%s)", [json.dumps(payload)])
    return JsonResponse({"status": "stored"}, status=201)


def bench_bare_bulk_insert(request: HttpRequest) -> JsonResponse:
    """Benchmark baseline (only routed with LEADFLOW_BENCH_ENDPOINTS=1): the same event
    rows as POST /e, bulk-inserted with no validation, visitor or session work."""
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
