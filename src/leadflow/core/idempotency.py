"""Idempotency-Key support for POST endpoints: a retry replays the first answer.

The answer is stored in the same transaction as the change, so a crash between the two
cannot happen; a concurrent duplicate rolls back and replays the winner's answer.
"""

import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import IdempotencyRecord, Workspace

MAX_KEY_LENGTH = 200


class _LostRace(Exception):
    pass


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    if record.request_fingerprint != fingerprint:
        raise ValidationFailed(
            [FieldError("Idempotency-Key", "This key was used with a different request.")],
            detail="The Idempotency-Key was already used with a different request body.",
        )
    response = HttpResponse(
        bytes(record.response_body), status=record.status_code, content_type=record.content_type
    )
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(
    request: HttpRequest, workspace: Workspace, produce: Callable[[], HttpResponse]
) -> HttpResponse:
    """Run ``produce`` once per Idempotency-Key; without the header, just run it."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return produce()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            [FieldError("Idempotency-Key", f"At most {MAX_KEY_LENGTH} characters.")]
        )
    fingerprint = _fingerprint(request)
    record = IdempotencyRecord.objects.filter(workspace=workspace, key=key).first()
    if record:
        return _replay(record, fingerprint)
    try:
        with transaction.atomic():
            response = produce()
            if 200 <= response.status_code < 300:
                try:
                    with transaction.atomic():
                        IdempotencyRecord.objects.create(
                            workspace=workspace,
                            key=key,
                            request_fingerprint=fingerprint,
                            status_code=response.status_code,
                            response_body=response.content,
                            content_type=response.get("Content-Type", "application/json"),
                        )
                except IntegrityError:
                    raise _LostRace from None
    except _LostRace:
        record = IdempotencyRecord.objects.get(workspace=workspace, key=key)
        return _replay(record, fingerprint)
    return response
