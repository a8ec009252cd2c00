"""What scoring does when activities are announced, or when tracking records events of
known contacts: rescore those contacts (``services.contacts_rescore``), in the worker,
after the commit that wrote them. Every activity kind may carry points (a rule can name
any kind), and contact changes move the fit grade, so scoring hears every kind."""

from collections import defaultdict

from leadflow.contacts.activity_log import activity_subscriber_register
from leadflow.contacts.models import Activity
from leadflow.core.tasks import task_schedule
from leadflow.scoring import services
from leadflow.tracking.listeners import EVENTS_LISTENERS

SUBSCRIBER = "scoring"


def activities_score(activities: list[Activity]) -> None:
    """Rescore every contact these activities are about, once, per workspace."""
    by_workspace: dict[int, set[int]] = defaultdict(set)
    for activity in activities:
        by_workspace[activity.workspace_id].add(activity.contact_id)
    for workspace_id, contact_ids in by_workspace.items():
        services.contacts_rescore(workspace_id=workspace_id, contact_ids=contact_ids)


def events_recorded(workspace_id: int, contact_ids: set[int]) -> None:
    """Tracking committed events of these known contacts: rescore them in the worker."""
    task_schedule("leadflow.scoring.tasks.contacts_rescore", workspace_id, sorted(contact_ids))


def register() -> None:
    from leadflow.contacts.services import MERGE_HOOKS
    from leadflow.scoring.services.engagement import ledger_forget_merged

    activity_subscriber_register(SUBSCRIBER, activities_score)
    if ledger_forget_merged not in MERGE_HOOKS:
        MERGE_HOOKS.append(ledger_forget_merged)
    if events_recorded not in EVENTS_LISTENERS:
        EVENTS_LISTENERS.append(events_recorded)
