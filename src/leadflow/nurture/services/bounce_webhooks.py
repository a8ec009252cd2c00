"""Providers' bounce and complaint webhooks, read by django-anymail's tracking webhook
views and normalised to its ``AnymailTrackingEvent`` (decision 0031).

Anymail's views are used for what they know (each provider's payload and its own checks:
Amazon SNS's headers, Mailgun's signature with the signing key the workspace names), but
not its ``tracking`` signal: a webhook URL belongs to one workspace, so the events are
recorded here with that workspace in hand, in the request's transaction (a module-level
signal receiver would have to find the workspace again and hides the write).

What an event does: ``bounced`` is a hard bounce unless its status (4.x.x) or the
provider's words (SES ``Transient``, Postmark ``SoftBounce``) say soft; ``complained`` is a
complaint; ``rejected`` for a bounced or invalid address is a hard bounce and for spam a
complaint; ``delivered`` ends the address's run of soft bounces. ``deferred`` (the
provider is still trying) and the rest change nothing.
"""

import json
import re
import warnings
from collections.abc import Iterator

from anymail.exceptions import (
    AnymailError,
    AnymailInsecureWebhookWarning,
    AnymailNotSupportedWarning,
)
from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.base import AnymailBaseWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.http import HttpRequest

from leadflow.core.models import Workspace
from leadflow.nurture.models import BounceKind
from leadflow.nurture.services.bounce_reports import STATUS
from leadflow.nurture.services.bounce_settings import (
    PROVIDER_NAMES,
    bounce_secret,
    bounce_settings_get,
)
from leadflow.nurture.services.bounces import BounceOutcome, bounce_record, dedupe_key
from leadflow.nurture.services.bounces import delivery_arrived as _arrived


class SesTrackingView(AmazonSESTrackingWebhookView):
    """Anymail's SES tracking view without its boto3 session: boto3 is needed only to
    confirm SNS subscriptions from the webhook, which LeadFlow leaves to a person (the
    subscription's confirmation link in the SNS console), so ~100 MB of AWS SDK is not
    installed for it (decision 0031; tests/nurture/test_bounce_webhooks.py pins it)."""

    def __init__(self, **kwargs):
        self.auto_confirm_enabled = False
        self.session_params, self.client_params = {}, {}
        AnymailBaseWebhookView.__init__(self, **kwargs)


PROVIDERS = {
    "amazon_ses": SesTrackingView,
    "postmark": PostmarkTrackingWebhookView,
    "sendgrid": SendGridTrackingWebhookView,
    "mailgun": MailgunTrackingWebhookView,
}
assert PROVIDERS.keys() == PROVIDER_NAMES.keys()
OUR_ID_IN_TEXT = re.compile(r"<?([0-9a-f]{24}\.\d+\.\d+(?:\.\d+\.\d+)?@[A-Za-z0-9.-]+)>?")
SOFT_WORDS = re.compile(r"\b(transient|softbounce|soft bounce|temporar)", re.IGNORECASE)
MAX_EVENTS = 1000


class WebhookRejected(ValueError):
    """The post is not a webhook of this provider that we can read (answered 400)."""


def _view(provider: str, workspace: Workspace):
    """Anymail's view for the provider, set up for this workspace: the URL's signed
    token is its authentication (no shared basic-auth secret), SNS subscriptions are
    confirmed by a person (no outgoing call from a webhook), Mailgun's signature is checked
    with the key the workspace names (no key named: no Mailgun post is read)."""
    view_class = PROVIDERS[provider]
    options: dict = {"webhook_secret": []}
    if provider == "mailgun":
        found = bounce_settings_get(workspace)
        options["webhook_signing_key"] = bounce_secret(found, "mailgun_key_env")
        if not options["webhook_signing_key"]:
            # Mailgun signs every post: a workspace that has not named its key cannot
            # tell a forged post from a real one, so none is read.
            raise WebhookRejected("Name the Mailgun webhook signing key in the bounce settings.")
    with warnings.catch_warnings():
        # Anymail warns about a missing basic-auth secret: the signed path stands in for it.
        warnings.simplefilter("ignore", AnymailInsecureWebhookWarning)
        # Anymail no longer tests SendGrid (its issue 432); its reader still parses the
        # documented event format, which is all that is used here (docs/nurture/bounces.md).
        warnings.simplefilter("ignore", AnymailNotSupportedWarning)
        return view_class(**options)


def webhook_events(provider: str, workspace: Workspace, request: HttpRequest):
    """The provider's events in the post, after its own checks; WebhookRejected for a
    post that fails them or cannot be read (never a server error)."""
    view = _view(provider, workspace)
    try:
        view.run_validators(request)
        events = view.parse_events(request)
    except (AnymailError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise WebhookRejected(f"{type(error).__name__}: {error}"[:300]) from None
    except Exception as error:  # SuspiciousOperation and anything a malformed post trips
        raise WebhookRejected(f"{type(error).__name__}") from None
    events = list(events or [])
    if len(events) > MAX_EVENTS:
        raise WebhookRejected(f"At most {MAX_EVENTS} events in one post.")
    return events


def _strings(value, depth: int = 0) -> Iterator[str]:
    if depth > 8:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, depth + 1)
    elif hasattr(value, "lists"):  # a QueryDict (Mailgun's legacy form posts)
        for _, items in value.lists():
            yield from _strings(items, depth + 1)


def our_message_ids(event: AnymailTrackingEvent) -> tuple[str, ...]:
    """Our Message-ID wherever the provider's payload carries it (SES's headers,
    Mailgun's ``message-id`` without brackets, SendGrid's ``smtp-id``...)."""
    found = []
    for text in [event.message_id or "", *_strings(event.esp_event)]:
        found += [f"<{match}>" for match in OUR_ID_IN_TEXT.findall(str(text))]
    return tuple(dict.fromkeys(found))


def _words(event: AnymailTrackingEvent) -> str:
    """The provider's words on what happened, with its status code where it gives one
    apart (SendGrid's ``status``)."""
    esp = event.esp_event if isinstance(event.esp_event, dict) else {}
    extra = esp.get("status") if isinstance(esp.get("status"), str) else ""
    return " ".join(str(x) for x in (extra, event.mta_response, event.description) if x)


def _kind(event: AnymailTrackingEvent) -> str | None:
    words = _words(event)
    if event.event_type == EventType.COMPLAINED:
        return BounceKind.COMPLAINT
    if event.event_type == EventType.BOUNCED:
        status = STATUS.search(words)
        if status:
            return BounceKind.SOFT if status.group(1) == "4" else BounceKind.HARD
        esp = event.esp_event if isinstance(event.esp_event, dict) else {}
        if SOFT_WORDS.search(words) or SOFT_WORDS.search(str(esp.get("Type", ""))):
            return BounceKind.SOFT
        return BounceKind.HARD
    if event.event_type == EventType.REJECTED:
        if event.reject_reason in (RejectReason.BOUNCED, RejectReason.INVALID):
            return BounceKind.HARD
        if event.reject_reason == RejectReason.SPAM:
            return BounceKind.COMPLAINT
    return None


def _event_key(provider: str, event: AnymailTrackingEvent, kind: str) -> str:
    identity = event.event_id
    if not identity:
        try:
            identity = json.dumps(event.esp_event, sort_keys=True, default=str)
        except (TypeError, ValueError):
            identity = repr(event.esp_event)
    return dedupe_key("webhook", provider, identity, event.recipient or "", kind)


def tracking_event_record(
    *, workspace: Workspace, provider: str, event: AnymailTrackingEvent
) -> BounceOutcome | None:
    """What one normalised event does (the module docstring); None when nothing."""
    address = (event.recipient or "").strip().lower()
    if event.event_type == EventType.DELIVERED and "@" in address:
        _arrived(workspace=workspace, address=address)
        return None
    kind = _kind(event)
    if kind is None:
        return None
    words = _words(event)
    status = STATUS.search(words)
    return bounce_record(
        workspace=workspace,
        kind=kind,
        source=f"webhook:{provider}",
        key=_event_key(provider, event, kind),
        address=address,
        message_ids=our_message_ids(event),
        status=".".join(status.groups()) if status else "",
        diagnostic=words[:500],
    )
