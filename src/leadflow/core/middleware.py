"""Guards that hold for every request: body size limit, text that cannot be stored, a wrong
method answered as problem+json where errors are, and database failures as 503."""

import logging

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from leadflow.core.errors import FieldError
from leadflow.core.problems import PROBLEM_CONTENT_TYPE, problem_response
from leadflow.core.publickit import cors
from leadflow.core.validation import text_problem

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


def public_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Let a browser script on another site read an error from a public endpoint (413, 503)
    so it can tell the visitor or retry; such answers carry no data to protect."""
    if request.path.startswith(settings.LEADFLOW_PUBLIC_PATH_PREFIXES):
        return cors(response, request)
    return response


def answers_json(request: HttpRequest) -> bool:
    """Whether errors to this request are application/problem+json rather than a page: the
    API, the event and webhook endpoints, and the form endpoints when a script is talking
    (a JSON body, an Accept asking for JSON, the embed's /config)."""
    path = request.path
    if path.startswith(("/api/", "/in/", "/e")):
        return True
    if path.startswith("/f/"):
        return (
            request.META.get("CONTENT_TYPE", "").startswith("application/json")
            or "json" in request.headers.get("Accept", "")
            or path.endswith("/config")
            or request.method == "OPTIONS"
        )
    return False


def error_response(
    request: HttpRequest, status: int, detail: str, *, errors: list[FieldError] | None = None
) -> HttpResponse:
    """An error answer in the form the client reads: problem+json (with CORS on public
    endpoints) or a plain page naming the bad fields."""
    if answers_json(request):
        return public_error(request, problem_response(status, detail, errors=errors))
    html = render_to_string(
        "error_page.html", {"status": status, "detail": detail, "errors": errors or []}
    )
    return HttpResponse(html, status=status)


# The largest id a row can have (64-bit primary keys); larger numbers reach no database.
MAX_ID = 2**63 - 1


class UnstorableTextMiddleware:
    """400 naming the parameter when the path, a query parameter or a url-encoded form field
    holds text no database can store (a NUL character), and 404 for an id in the path that
    no row can have: every view may then trust that such input never reaches it. JSON
    bodies are checked where they are parsed (core.validation.json_parse), uploaded files
    by the import that reads them; query strings and form bodies are decoded with
    replacement, so they carry no unpaired surrogate."""

    # Views that read the raw body (webhooks, event batches, the API's JSON parser and its
    # Idempotency-Key fingerprint): a multipart body parsed here could no longer be read
    # there. Their text is checked where they parse it.
    RAW_BODY_PATHS = ("/in/", "/e", "/bench/", "/api/")

    def __init__(self, get_response):
        self.get_response = get_response

    @classmethod
    def reads_form(cls, request: HttpRequest) -> bool:
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            return True
        return content_type.startswith("multipart/form-data") and not request.path.startswith(
            cls.RAW_BODY_PATHS
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        errors = []
        if text_problem(request.path):
            errors.append(FieldError("path", "The address contains a NUL character."))
        elif any(
            part.isascii() and part.isdigit() and len(part) > 18 and int(part) > MAX_ID
            for part in request.path.split("/")
        ):
            # An id no row can have (ids are 64-bit): there is nothing at this address.
            return error_response(request, 404, "There is nothing at this address.")
        sources = [request.GET]
        if request.method == "POST" and self.reads_form(request):
            sources.append(request.POST)
        for source in sources:
            for name, values in source.lists():
                problem = text_problem(name) or next(filter(None, map(text_problem, values)), None)
                if problem:
                    errors.append(FieldError(name.replace("\x00", "\\x00"), problem))
        if errors:
            names = ", ".join(sorted({error.field for error in errors}))
            return error_response(request, 400, f"Invalid text in: {names}.", errors=errors)
        return self.get_response(request)


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


class MethodNotAllowedMiddleware:
    """A 405 (a method the route does not serve: Django's require_http_methods, the API's
    router) answers application/problem+json wherever errors are problem+json
    (``answers_json``: the API, /e, /in), keeping its Allow header; elsewhere the 405 is
    left as it is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or not answers_json(request):
            return response
        if response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE):
            return response
        allow = response.get("Allow", "")
        detail = f"{request.method} is not allowed here."
        if allow:
            detail = f"{request.method} is not allowed here; allowed: {allow}."
        headers = {"Allow": allow} if allow else None
        return public_error(request, problem_response(405, detail, headers=headers))


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
