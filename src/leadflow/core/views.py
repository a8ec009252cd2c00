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
