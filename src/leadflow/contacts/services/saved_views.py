"""A member's saved views of the contact list."""

from django.db import transaction

from leadflow.contacts.conditions import (
    ConditionContext,
    Node,
    conditions_from_query,
    conditions_validate,
    tree_to_json,
)
from leadflow.contacts.models import (
    SavedView,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace

QUERY_LENGTH = SavedView._meta.get_field("query").max_length


@transaction.atomic
def saved_view_save(
    *, workspace: Workspace, actor: Actor, name: str, query: str, conditions: Node | None = None
) -> SavedView:
    """Keep a view under a name (the same name replaces it). ``conditions`` is its tree; by
    default the tree of ``query``'s filters. A tree that does not check (an unknown field, a
    bad value) is refused, naming its paths; a query whose filters do not translate is kept
    as it always was, with no tree (it is read from the query when used). A query longer
    than its column is refused: cut short, it would link to another view."""
    name = name.strip()[:100]
    if not name:
        raise ValidationFailed([FieldError("name", "Name the view.")])
    if len(query) > QUERY_LENGTH:
        raise ValidationFailed(
            [FieldError("query", f"Too long to keep ({QUERY_LENGTH:,} characters at most).")]
        )
    if conditions is not None:
        conditions_validate(conditions, ConditionContext(workspace, actor.user_id))
        tree = tree_to_json(conditions)
    else:
        try:
            tree = tree_to_json(conditions_from_query(query, workspace))
        except ValidationFailed:
            tree = {}
    view, _ = SavedView.objects.update_or_create(
        workspace=workspace,
        user=actor.user,
        name=name,
        defaults={"query": query, "conditions": tree},
    )
    return view


@transaction.atomic
def saved_view_delete(*, workspace: Workspace, actor: Actor, view_id: int) -> None:
    deleted, _ = SavedView.objects.filter(workspace=workspace, user=actor.user, pk=view_id).delete()
    if not deleted:
        raise NotFound("No such saved view.")
