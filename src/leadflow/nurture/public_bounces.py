"""The providers' bounce and complaint webhooks: ``/hooks/email/<provider>/<token>/``.

- The token (signed for one workspace and one provider: services.bounce_settings) is the
  authentication; a token that does not verify, another provider's or a revoked one
  answers 404 and nothing is read or written.
- A post the provider's reader (django-anymail) cannot read answers 400 with the reason,
  never 500, and writes nothing; the events of a post are recorded in one transaction
  before the 200 (a database failure answers 503: core.middleware), so the provider's retry
  of a failed post is the recovery, and a retry of a recorded one records nothing twice.
- ``HEAD`` answers 200 (some providers check the URL when it is set up).
"""

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from leadflow.nurture.services.bounce_settings import webhook_workspace
from leadflow.nurture.services.bounce_webhooks import (
    PROVIDERS,
    WebhookRejected,
    tracking_event_record,
    webhook_events,
)


@csrf_exempt
@require_http_methods(["POST", "HEAD"])
def provider_webhook(request: HttpRequest, provider: str, token: str) -> HttpResponse:
    workspace = webhook_workspace(provider, token) if provider in PROVIDERS else None
    if workspace is None:
        raise Http404("No such webhook.")
    if request.method == "HEAD":
        return HttpResponse()
    try:
        events = webhook_events(provider, workspace, request)
    except WebhookRejected as error:
        return JsonResponse(
            {"title": "Not a webhook post we can read.", "detail": str(error)}, status=400
        )
    recorded = 0
    with transaction.atomic():
        for event in events:
            outcome = tracking_event_record(workspace=workspace, provider=provider, event=event)
            recorded += bool(outcome and outcome.created)
    return JsonResponse({"events": len(events), "recorded": recorded})
