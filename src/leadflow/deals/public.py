"""Stripe's webhook: ``POST /hooks/stripe/<token>/``.

- The token (signed for one workspace: ``services.stripe_webhook_workspace``) routes the
  post; a token that does not verify answers 404 and nothing is read.
- The ``Stripe-Signature`` header must verify on the raw body with the workspace's
  signing secret and a timestamp within 300 s; otherwise 400 and nothing is written (a
  workspace without a signing secret refuses every post the same way). A signed body
  that is not an event answers 400 naming the field; never 500.
- What an event does is committed before the 200 (a database failure answers 503:
  core.middleware), so Stripe's retry is the recovery; a retried event id does nothing
  more. An event for no order of the workspace is logged and answered 200, so Stripe
  stops sending it.
"""

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leadflow.deals.services import (
    stripe_event_record,
    stripe_event_verify,
    stripe_webhook_workspace,
)
from leadflow.deals.services.payments import EventUnreadable, SignatureRefused

MAX_BODY = 512 * 1024  # Stripe's events are a few KB


def _problem(title: str, status: int, errors: list | None = None) -> JsonResponse:
    body = {"title": title, "status": status}
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, token: str) -> HttpResponse:
    workspace = stripe_webhook_workspace(token)
    if workspace is None:
        raise Http404("No such webhook.")
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY:
        return _problem("The body is too large.", 413)
    try:
        event = stripe_event_verify(
            workspace=workspace,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
        )
    except SignatureRefused:
        return _problem("The request's signature does not match.", 400)
    except EventUnreadable as failure:
        return _problem(
            "Not an event we can read.",
            400,
            [{"field": failure.field, "message": failure.message}],
        )
    outcome = stripe_event_record(workspace=workspace, event=event)
    return JsonResponse({"received": True, "outcome": outcome})
