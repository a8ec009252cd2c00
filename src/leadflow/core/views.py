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
