"""Visitors, visits and page views made directly, with known channels and times, for the
app's tracking pages (ingestion itself is tested in tests/tracking)."""

import datetime as dt
import itertools
import uuid

from leadflow.tracking.models import Event, EventType, Visitor, VisitSession

_keys = itertools.count(1)


def visitor(workspace, *, contact=None, seen_at=None, user_agent="Mozilla/5.0 (tests)"):
    seen_at = seen_at or dt.datetime.now(dt.UTC)
    return Visitor.objects.create(
        workspace=workspace,
        visitor_key=f"visitor-{next(_keys):06d}",
        contact=contact,
        first_seen_at=seen_at,
        last_seen_at=seen_at,
        identified_at=seen_at if contact else None,
        user_agent=user_agent,
    )


def visit(
    workspace,
    who,
    *,
    started_at,
    channel="direct",
    source="(direct)",
    medium="(none)",
    campaign="",
    pages=(),
    **fields,
):
    """A visit of ``who`` (a Visitor) with a page view per URL in ``pages``, a minute apart."""
    session = VisitSession.objects.create(
        workspace=workspace,
        visitor=who,
        session_key=f"session-{next(_keys):06d}",
        contact_id=who.contact_id,
        started_at=started_at,
        last_event_at=started_at + dt.timedelta(minutes=max(len(pages) - 1, 0)),
        channel=channel,
        source=source,
        medium=medium,
        campaign=campaign,
        pageviews=len(pages),
        landing_page=pages[0] if pages else "",
        **fields,
    )
    for index, url in enumerate(pages):
        Event.objects.create(
            workspace=workspace,
            event_id=uuid.uuid4(),
            visitor_id=who.pk,
            session_id=session.pk,
            contact_id=who.contact_id,
            event_type=EventType.PAGEVIEW,
            url=url,
            occurred_at=started_at + dt.timedelta(minutes=index),
        )
    return session


def form_views(workspace, form_key: str, count: int, *, at=None, by=None):
    """``count`` views of the form, a minute apart up to ``at``, by the Visitor ``by``."""
    at = at or dt.datetime.now(dt.UTC)
    Event.objects.bulk_create(
        Event(
            workspace=workspace,
            event_id=uuid.uuid4(),
            event_type=EventType.FORM_VIEW,
            name=form_key,
            visitor_id=by.pk if by else None,
            occurred_at=at - dt.timedelta(minutes=index),
        )
        for index in range(count)
    )
