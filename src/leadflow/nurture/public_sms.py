"""The SMS provider's webhooks: ``/hooks/sms/<token>/in/`` (texts people send to the
workspace's number) and ``/hooks/sms/<token>/status/`` (delivery receipts).

- The token (signed for one workspace: services.sms_inbound) routes the post; a token
  that does not verify answers 404 and nothing is read.
- The provider's request signature (``X-Twilio-Signature``, keyed with the token the
  workspace's settings name) authenticates it: a missing or wrong signature, or a
  workspace with no token to check it with, answers 403 and writes nothing.
- A post that cannot be read answers 400 naming each field, never 500; what it says is
  committed before the 200 (a database failure answers 503: core.middleware), so the
  provider's retry of a failed post is the recovery, and a retry of a stored text (the
  same MessageSid) changes nothing.
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leadflow.core.errors import ValidationFailed
from leadflow.nurture.models import SmsSettings
from leadflow.nurture.services.sms import sms_settings_token
from leadflow.nurture.services.sms_inbound import (
    sms_inbound_clean,
    sms_inbound_record,
    sms_receipt_clean,
    sms_receipt_record,
    sms_signature_valid,
    sms_webhook_workspace,
)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _authenticated(request: HttpRequest, token: str):
    """The workspace the post is for, once its signature checks; raises 404 / answers 403."""
    workspace = sms_webhook_workspace(token)
    if workspace is None:
        raise Http404("No such webhook.")
    config = SmsSettings.objects.filter(workspace=workspace).first()
    auth_token = sms_settings_token(config) if config else ""
    urls = [request.build_absolute_uri()]
    if settings.LEADFLOW_BASE_URL:
        urls.append(settings.LEADFLOW_BASE_URL + request.get_full_path())
    params = {name: request.POST.getlist(name) for name in request.POST}
    signature = request.headers.get("X-Twilio-Signature", "")
    if not sms_signature_valid(
        auth_token=auth_token, urls=urls, params=params, signature=signature
    ):
        return (
            workspace,
            config,
            JsonResponse(
                {"title": "The request's signature does not match.", "status": 403}, status=403
            ),
        )
    account = (request.POST.get("AccountSid") or "").strip()
    if account and account != config.account_sid:
        return (
            workspace,
            config,
            JsonResponse({"title": "Another provider account's post.", "status": 403}, status=403),
        )
    return workspace, config, None


def _bad(failure: ValidationFailed) -> JsonResponse:
    return JsonResponse(
        {
            "title": "Not a post we can read.",
            "status": 400,
            "errors": [{"field": e.field, "message": e.message} for e in failure.errors],
        },
        status=400,
    )


@csrf_exempt
@require_POST
def inbound(request: HttpRequest, token: str) -> HttpResponse:
    workspace, _, refused = _authenticated(request, token)
    if refused is not None:
        return refused
    try:
        fields = sms_inbound_clean(request.POST)
    except ValidationFailed as failure:
        return _bad(failure)
    sms_inbound_record(workspace=workspace, **fields)
    # An empty answer: the provider sends no reply (its own STOP/HELP answers still go).
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def status(request: HttpRequest, token: str) -> HttpResponse:
    workspace, _, refused = _authenticated(request, token)
    if refused is not None:
        return refused
    try:
        fields = sms_receipt_clean(request.POST)
    except ValidationFailed as failure:
        return _bad(failure)
    delivery = request.GET.get("delivery", "")
    if delivery and not (delivery.isdigit() and len(delivery) <= 18):
        return JsonResponse(
            {
                "title": "Not a post we can read.",
                "status": 400,
                "errors": [{"field": "delivery", "message": "A text's id."}],
            },
            status=400,
        )
    updated = sms_receipt_record(
        workspace=workspace, delivery_id=int(delivery) if delivery else None, **fields
    )
    return JsonResponse({"updated": updated})
