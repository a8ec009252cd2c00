"""What tracking puts on a contact's timeline, registered in ``TrackingConfig.ready``: the
``visitor.linked`` activity it writes, and its visits (rows of its own tables, not activities)."""

import datetime as dt

from leadflow.contacts.activity_kinds import (
    ActivityKindDefinition,
    activity_kind_register,
)
from leadflow.contacts.models import Contact
from leadflow.contacts.selectors import TIMELINE_SOURCES, TimelineItem
from leadflow.core.models import Workspace
from leadflow.tracking.selectors import contact_visits, session_pages

VISITOR_LINKED = "visitor.linked"
VISIT = "visit"


def visit_timeline_items(
    workspace: Workspace,
    contact: Contact,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
) -> list[TimelineItem]:
    """The contact's visits started in [since, until), newest first, each with its page URLs
    (two queries). ``source`` is the visit; ``data["pages"]`` its page views, oldest first."""
    sessions = contact_visits(
        workspace, contact.pk, limit=limit, started_before=until, started_since=since
    )
    pages = session_pages(workspace, [session.pk for session in sessions]) if sessions else {}
    return [
        TimelineItem(
            kind=VISIT,
            occurred_at=session.started_at,
            source=session,
            data={
                "visit_id": session.pk,
                "before_identification": session.started_at < contact.created_at,
                "channel": session.channel,
                "source": session.source,
                "medium": session.medium,
                "campaign": session.campaign,
                "landing_page": session.landing_page,
                "referrer": session.referrer,
                "pageviews": session.pageviews,
                "pages": [event.url for event in pages.get(session.pk, []) if event.url],
            },
        )
        for session in sessions
    ]


def tracking_kinds_register() -> None:
    if visit_timeline_items not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(visit_timeline_items)
    activity_kind_register(
        ActivityKindDefinition(
            key=VISITOR_LINKED,
            label="Browser recognised",
            payload_fields=("visitor", "reason", "previous_contact_id", "sessions"),
        )
    )
