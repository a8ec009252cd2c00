"""Guards that hold for every request: body size limit and database failures as 503."""

import logging

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from leadflow.core.problems import problem_response

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


def public_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Let a browser script on another site read an error from a public endpoint (413, 503)
    so it can tell the visitor or retry; such answers carry no data to protect."""
    origin = request.headers.get("Origin")
    if origin and request.path.startswith(settings.LEADFLOW_PUBLIC_PATH_PREFIXES):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = "Retry-After"
        response["Vary"] = "Origin"
    return response


class RequestSizeLimitMiddleware:
    """Answer 413 before reading a body that declares itself larger than the limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = self.limit(request)
        if length > limit:
            return public_error(
                request, problem_response(413, f"The request body is larger than {limit} bytes.")
            )
        return self.get_response(request)

    @staticmethod
    def limit(request: HttpRequest) -> int:
        """File uploads to the app and the API (imports) may be larger than other bodies;
        public endpoints never take them."""
        if request.META.get("CONTENT_TYPE", "").startswith(
            "multipart/form-data"
        ) and not request.path.startswith(settings.LEADFLOW_PUBLIC_PATH_PREFIXES):
            return max(settings.LEADFLOW_MAX_UPLOAD_BYTES, settings.LEADFLOW_MAX_BODY_BYTES)
        return settings.LEADFLOW_MAX_BODY_BYTES


def is_database_unavailable(error: BaseException) -> bool:
    """True for a failure of the database itself (down, unreachable, locked), not a bad query."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return True
    cause = error.__cause__
    return isinstance(error, DatabaseError) and isinstance(
        cause, (OperationalError, InterfaceError)
    )


def database_unavailable_response() -> HttpResponse:
    return problem_response(
        503,
        "The database is unavailable; nothing was stored. Retry shortly.",
        code="database_unavailable",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


class DatabaseUnavailableMiddleware:
    """A database that cannot be reached answers 503 with Retry-After, never a 2xx or a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if is_database_unavailable(exception):
            logger.error("database unavailable: %s", exception)
            return public_error(request, database_unavailable_response())
        return None
