"""Actions on contacts that one app offers and another runs, without either importing the
other: sales offers "create a follow-up for the owner", nurture's sequences run it as a
step. An app registers its actions in ``AppConfig.ready``; a caller looks one up by key
and calls ``run`` with the contact ids (of one workspace) and the checked parameters, in
its own transaction."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leadflow.core.actors import Actor
from leadflow.core.models import Workspace


@dataclass(frozen=True)
class ContactAction:
    key: str  # "sales.followup"
    label: str
    run: Callable[[Workspace, list[int], dict[str, Any], Actor], int]  # → contacts acted on


CONTACT_ACTIONS: dict[str, ContactAction] = {}


def contact_action_register(action: ContactAction) -> None:
    CONTACT_ACTIONS[action.key] = action


def contact_action_get(key: str) -> ContactAction | None:
    return CONTACT_ACTIONS.get(key)
