"""A member's saved views of the contact list."""

from django.db import transaction

from leadflow.contacts.models import (
    SavedView,
)
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace


@transaction.atomic
def saved_view_save(*, workspace: Workspace, actor: Actor, name: str, query: str) -> SavedView:
    name = name.strip()[:100]
    if not name:
        raise ValidationFailed([FieldError("name", "Name the view.")])
    view, _ = SavedView.objects.update_or_create(
        workspace=workspace, user=actor.user, name=name, defaults={"query": query[:2000]}
    )
    return view


@transaction.atomic
def saved_view_delete(*, workspace: Workspace, actor: Actor, view_id: int) -> None:
    deleted, _ = SavedView.objects.filter(workspace=workspace, user=actor.user, pk=view_id).delete()
    if not deleted:
        raise NotFound("No such saved view.")
