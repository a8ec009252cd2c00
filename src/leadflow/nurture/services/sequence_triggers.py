"""Who a sequence's own changes are by, and which activities start a sequence (its
trigger), as pure functions of the sequence and the activity (used by the runner and the
activity subscriber)."""

from leadflow.contacts.models import Activity
from leadflow.core.actors import Actor
from leadflow.nurture.models.sequences import Sequence


def sequence_actor(sequence: Sequence) -> Actor:
    """Who the sequence's own changes are by, named on the timeline (a trigger ignores its
    own sequence's: ``is_own``)."""
    return Actor.system(f"sequence #{sequence.pk}: {sequence.name}"[:200])


def is_own(sequence: Sequence, label: str) -> bool:
    return label.startswith(f"sequence #{sequence.pk}:")


def trigger_matches(sequence: Sequence, activity: Activity) -> bool:
    trigger = sequence.trigger or {}
    data = activity.data or {}
    if trigger.get("kind") == "tag.added":
        # A tag comes with a new contact, an edit or a tag action: each says it its way.
        added = _tags_added(activity.kind, data)
        return bool(added) and ("tag" not in trigger or trigger["tag"] in added)
    if trigger.get("kind") != activity.kind:
        return False
    return all(data.get(key) == value for key, value in trigger.items() if key != "kind")


def _tags_added(kind: str, data: dict) -> list[str]:
    if kind == "tag.added":
        return [data.get("tag")]
    if kind == "contact.created":
        return list(data.get("tags") or [])
    if kind == "contact.updated":
        return list(data.get("tags_added") or [])
    return []
