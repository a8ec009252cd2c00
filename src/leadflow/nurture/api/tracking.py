"""Nurture over the API: a message's opens and clicks (docs/nurture/tracking.md). Read
with ``settings:read``, like the message itself."""

from django.http import HttpRequest
from ninja import Path, Router, Schema

from leadflow.core.apikit import require_scope
from leadflow.core.models import ApiScope
from leadflow.nurture.selectors.email import message_get
from leadflow.nurture.selectors.tracking import message_engagement
from leadflow.nurture.tracking_kinds import OPENS_UNRELIABLE

router = Router(tags=["nurture"])
BIG = 2**63 - 1


class EngagementOut(Schema):
    message_id: int
    sent: int
    opened: int
    clicked: int
    clicks: int
    filtered: int
    opens_note: str


@router.get(
    "/nurture/messages/{message_id}/engagement",
    response=EngagementOut,
    summary="A message's opens and clicks",
)
def message_engagement_get(request: HttpRequest, message_id: int = Path(..., ge=1, le=BIG)):
    """``sent``: deliveries sent; ``opened``: emails whose open pixel loaded (unreliable:
    mail apps and privacy proxies load images by themselves, others never do);
    ``clicked``: emails with at least one counted click, ``clicks``: counted clicks (a
    repeat of the same link within a minute counts once); ``filtered``: opens and clicks
    put down to security scanners and link checkers, not counted."""
    workspace, _ = require_scope(request, ApiScope.SETTINGS_READ)
    message = message_get(workspace, message_id)
    counts = message_engagement(workspace, message.pk)
    return {**counts.__dict__, "opens_note": OPENS_UNRELIABLE}
