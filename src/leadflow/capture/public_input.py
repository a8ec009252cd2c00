"""What a public endpoint reads from a lead form's submission, and what a rendered form shows.

Two endpoints take a form's submissions: capture's own (``/f/<key>``: the embed script, the
hosted page, the iframe) and a landing page's (``/lp/<workspace>/<slug>/submit``, in
``pages``). Both read the same JSON body with ``submission_json_read`` (one set of rules for
the body, the same field errors) and show a form again with ``fields_shown`` and the template
``capture/_form_fields.html``, so the two never drift apart.
"""

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from django.http import HttpRequest

from leadflow.capture.antispam import HONEYPOT_FIELD
from leadflow.capture.fields import public_definition
from leadflow.capture.services import SubmissionInput
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.publickit import clip, utm_clip
from leadflow.core.ratelimit import client_ip
from leadflow.core.validation import json_parse

JSON_KEYS = frozenset({"fields", "submission_id", "context", "token", "pow"})


def request_base_url(request: HttpRequest) -> str:
    """This server's own address as the request reached it (no trailing slash)."""
    return request.build_absolute_uri("/").rstrip("/")


def submission_json_read(
    request: HttpRequest, *, also: Collection[str] = ()
) -> tuple[SubmissionInput, dict[str, Any]]:
    """The JSON submission in ``request``'s body as capture takes it, and the body itself.

    The body is an object with ``fields`` (an object of answers), and optionally
    ``submission_id`` (a UUID: a retry stores once), ``context`` (page_url, referrer, utm,
    visitor_id), ``token`` and ``pow``, plus the keys the caller names in ``also`` (it reads
    them from the body it gets back). Any other key, or one of the wrong type, is refused
    with a 422 naming it. The honeypot is ``fields._lf_hp`` (the embed script) or, where the
    caller allows it, ``honeypot`` (the landing page's script). Every text is clipped.
    """
    body = json_parse(request.body or b"{}")
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "The body must be a JSON object.")])
    errors = [FieldError(key, "Unknown field.") for key in body if key not in JSON_KEYS | {*also}]
    fields = body.get("fields")
    if not isinstance(fields, dict):
        errors.append(FieldError("fields", "An object of field names and values."))
    submission_id = None
    if body.get("submission_id") is not None:
        try:
            submission_id = uuid.UUID(str(body["submission_id"]))
        except ValueError:
            errors.append(FieldError("submission_id", "Must be a UUID."))
    context = body.get("context") or {}
    if not isinstance(context, dict):
        errors.append(FieldError("context", "Must be an object."))
        context = {}
    if errors:
        raise ValidationFailed(errors)
    fields = dict(fields)
    honeypot = fields.pop(HONEYPOT_FIELD, "") or body.get("honeypot") or ""
    data = SubmissionInput(
        fields=fields,
        submission_id=submission_id,
        page_url=clip(context.get("page_url", "")),
        referrer=clip(context.get("referrer", "")),
        utm=utm_clip(context.get("utm")),
        visitor_id=clip(context.get("visitor_id", ""), 100),
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:500],
        honeypot=clip(honeypot, 200),
        token=clip(body.get("token") or "", 1000),
        pow_nonce=clip(body.get("pow") or "", 100),
        token_required=True,
        base_url=request_base_url(request),
    )
    return data, body


def fields_shown(
    definitions: list[dict],
    errors: Mapping[str, list[str]] | None = None,
    values: Mapping[str, Any] | None = None,
) -> tuple[list[dict], list[str]]:
    """A form's fields as ``capture/_form_fields.html`` shows them (each with its errors and
    the value typed), and the messages that belong to no field of the form."""
    errors = errors or {}
    values = values or {}
    shown = [
        {
            **public_definition(definition),
            "errors": errors.get(definition["name"], []),
            "value": values.get(definition["name"], ""),
        }
        for definition in definitions
    ]
    names = {definition["name"] for definition in definitions}
    other = [
        message for name, messages in errors.items() if name not in names for message in messages
    ]
    return shown, other
