"""What routing does when activities are announced: a new contact (``contact.created``) or
one that became an MQL (``stage.changed`` to ``mql``) that has no owner is routed by the
workspace's assignment rules (``services.leads_route``), in the activity delivery's
transaction, so a crash routes the batch again rather than skipping it.

A contact that has an owner is never re-routed automatically. Activities older than
``ROUTING_LOOKBACK`` are passed over: a subscriber starts at the beginning of the log, and
a workspace's first rule must not sweep up years of old leads (a worker down for less than
that still routes what arrived meanwhile).

A person's call, meeting or email (``TOUCH_KINDS``) stops the lead's first-touch clock
(subscriber ``first_touch``)."""

import datetime as dt
import logging
from collections import defaultdict

from django.utils import timezone

from leadflow.contacts.activity_log import activity_subscriber_register
from leadflow.contacts.models import Activity, ActivityKind, LifecycleStage
from leadflow.core.errors import DomainError
from leadflow.core.models import Workspace
from leadflow.sales import services
from leadflow.sales.models import TOUCH_KINDS, Trigger
from leadflow.sales.services.first_touch import first_touches_record, touches_from_activities
from leadflow.scoring.subscribers import SUBSCRIBER as SCORING_SUBSCRIBER

logger = logging.getLogger("leadflow.sales")

SUBSCRIBER = "routing"
TOUCH_SUBSCRIBER = "first_touch"
ROUTING_LOOKBACK = dt.timedelta(days=1)
KINDS = (ActivityKind.CONTACT_CREATED, ActivityKind.STAGE_CHANGED)


def activity_trigger(activity: Activity) -> str | None:
    """The routing trigger this activity is, or None."""
    if activity.kind == ActivityKind.CONTACT_CREATED:
        return Trigger.CREATED
    if activity.kind == ActivityKind.STAGE_CHANGED and (activity.data or {}).get("to") == (
        LifecycleStage.MQL
    ):
        return Trigger.MQL
    return None


def activities_route(activities: list[Activity]) -> None:
    """Route the contacts these activities created or made MQL, per workspace (the first
    trigger of a contact in the batch names the assignment). A domain error (a rule's
    person removed in the meantime...) is logged and that workspace's batch left as is."""
    since = timezone.now() - ROUTING_LOOKBACK
    by_workspace: dict[int, dict[int, str]] = defaultdict(dict)
    for activity in activities:
        trigger = activity_trigger(activity)
        if trigger is not None and activity.occurred_at >= since:
            by_workspace[activity.workspace_id].setdefault(activity.contact_id, trigger)
    for workspace_id, triggers in by_workspace.items():
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        if workspace is None:
            continue
        try:
            services.leads_route(workspace=workspace, triggers=triggers)
        except DomainError:
            logger.exception("routing failed in workspace %s", workspace_id)


def activities_touch(activities: list[Activity]) -> None:
    """Stop the first-touch clocks these touches are the first touch of."""
    first_touches_record(touches_from_activities(activities))


def register() -> None:
    # After scoring: a rule on the score, grade or probability sees the new lead's own.
    activity_subscriber_register(
        SUBSCRIBER,
        activities_route,
        kinds=[kind.value for kind in KINDS],
        after=[SCORING_SUBSCRIBER],
    )
    activity_subscriber_register(TOUCH_SUBSCRIBER, activities_touch, kinds=list(TOUCH_KINDS))
