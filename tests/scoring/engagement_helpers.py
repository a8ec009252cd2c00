"""Building engagement histories for the tests: contacts through contacts' services,
activities through ``activity_record`` (any time), events as tracking stores them (with
any time: the tracker's own 7-day rule is tested in tests/tracking)."""

import datetime as dt
import uuid

from leadflow.contacts.models import Contact
from leadflow.contacts.services import activity_record, contact_upsert
from leadflow.core.actors import Actor
from leadflow.scoring.models import EngagementRule, ScorePoint
from leadflow.scoring.services import profile_get
from leadflow.tracking.models import Event

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
SYSTEM = Actor.system("tests")


def days_ago(days: float, *, at: dt.datetime = NOW) -> dt.datetime:
    return at - dt.timedelta(days=days)


def new_contact(workspace, email: str = "ada@example.com") -> Contact:
    return contact_upsert(workspace=workspace, actor=SYSTEM, data={"email": email}).contact


def activity(workspace, contact, kind: str, data: dict | None = None, *, at=NOW):
    return activity_record(
        workspace=workspace, contact=contact, kind=kind, actor=SYSTEM, data=data, occurred_at=at
    )


def event(workspace, contact, event_type: str = "pageview", *, url="", name="", at=NOW, **props):
    return Event.objects.create(
        workspace=workspace,
        event_id=uuid.uuid4(),
        contact_id=contact.pk if contact is not None else None,
        event_type=event_type,
        url=url,
        name=name,
        properties=props,
        occurred_at=at,
        received_at=at,
    )


def only_rules(workspace) -> None:
    """No default rules: the test's own only."""
    profile_get(workspace)
    EngagementRule.objects.filter(workspace=workspace).delete()


def rule(workspace, *, source="event", kind="pageview", points=1, conditions=(), **caps):
    return EngagementRule.objects.create(
        workspace=workspace,
        name=f"{kind} {points}",
        source=source,
        kind=kind,
        points=points,
        conditions=list(conditions),
        **caps,
    )


def ledger(workspace, contact=None) -> list[tuple]:
    rows = ScorePoint.objects.filter(workspace_id=workspace.pk)
    if contact is not None:
        rows = rows.filter(contact_id=contact.pk)
    return sorted(
        rows.values_list("contact_id", "rule_id", "source", "source_id", "occurred_at", "points")
    )


def score(contact) -> float:
    contact.refresh_from_db(fields=["engagement_score"])
    return contact.engagement_score
