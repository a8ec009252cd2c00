"""API plumbing shared by every router: API-key auth, scopes, strict bodies, JSON answers and
problem+json errors. The routers themselves live in each app's `api` module (core's own in
`core/api.py`); `config/api.py` assembles them."""

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer
from pydantic import ConfigDict

from leadflow.core.actors import Actor
from leadflow.core.errors import DomainError, FieldError, PermissionDenied, ValidationFailed
from leadflow.core.middleware import database_unavailable_response, is_database_unavailable
from leadflow.core.models import ApiKey, Workspace
from leadflow.core.problems import problem_response
from leadflow.core.publickit import too_many_requests
from leadflow.core.ratelimit import rate_limit_hit
from leadflow.core.selectors import apikey_authenticate
from leadflow.core.validation import json_parse


class StrictSchema(Schema):
    """Request bodies reject unknown fields instead of silently dropping them."""

    model_config = ConfigDict(extra="forbid")


class JsonParser(Parser):
    """Request bodies go through core.validation.json_parse: bounded depth, finite numbers,
    no NUL or unpaired surrogate in any string (each named in a 422)."""

    def parse_body(self, request: HttpRequest):
        return json_parse(request.body)


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer <api key>``; the key decides the workspace of every request."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = apikey_authenticate(token)
        if key is None:
            return None
        retry_after = rate_limit_hit(
            f"api:{key.pk}", limit=settings.LEADFLOW_API_RATE_LIMIT, window_seconds=60
        )
        if retry_after:
            raise RateLimited(retry_after)
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        request.workspace = key.workspace
        request.actor = Actor.for_api_key(key)
        return key


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    """A JSON answer rendered like ninja's own (dates as ISO strings)."""
    return HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder), status=status, content_type="application/json"
    )


def require_scope(request: HttpRequest, scope: str) -> tuple[Workspace, Actor]:
    """The request's workspace and actor, or 403 when the key lacks ``scope``."""
    key: ApiKey = request.auth
    if scope not in key.scopes:
        raise PermissionDenied(f"This API key lacks the '{scope}' scope.", code="missing_scope")
    return request.workspace, request.actor


def _field_name(location: list[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "form"}:
        parts = parts[1:]
        if len(parts) > 1 and parts[0] in {"payload", "data", "filters", "body"}:
            parts = parts[1:]
    return ".".join(parts) or "body"


def install_error_handlers(api) -> None:
    """Every error the API answers is application/problem+json (RFC 9457)."""

    def domain_error(request, exc: DomainError) -> HttpResponse:
        return problem_response(
            exc.status, exc.detail, code=exc.code, errors=getattr(exc, "errors", None)
        )

    def validation_error(request, exc: NinjaValidationError) -> HttpResponse:
        errors = []
        for error in exc.errors:
            message = error.get("msg", "Invalid value.")
            if error.get("type") == "extra_forbidden":
                message = "Unknown field."
            errors.append(FieldError(_field_name(error.get("loc", [])), message))
        failure = ValidationFailed(errors)
        return domain_error(request, failure)

    def http_error(request, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, ValidationFailed):  # from JsonParser, wrapped by ninja
            return domain_error(request, exc.__cause__)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        detail = str(exc)
        if isinstance(exc, AuthenticationError):
            detail = "A valid API key is required: Authorization: Bearer <key>."
        return problem_response(exc.status_code, detail, headers=headers)

    def rate_limited(request, exc: RateLimited) -> HttpResponse:
        return too_many_requests("Too many requests for this API key.", exc.retry_after)

    def server_error(request, exc: Exception) -> HttpResponse:
        if isinstance(exc, RequestDataTooBig):
            return problem_response(413, "The request body is too large.")
        if is_database_unavailable(exc):
            return database_unavailable_response()
        raise exc

    api.add_exception_handler(DomainError, domain_error)
    api.add_exception_handler(NinjaValidationError, validation_error)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(RateLimited, rate_limited)
    api.add_exception_handler(Exception, server_error)
