"""Teams and their members: create, rename, delete; add, change and remove a salesperson.

A member must be a member of the workspace with a role that may own leads (owner, admin,
marketer, sales: ``core.selectors.LEAD_OWNER_PERMISSION``); an id of another workspace's user
or team is refused as if it did not exist. Every change writes an audit entry.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from leadflow.core.actors import Actor
from leadflow.core.errors import Conflict, FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.services import audit_record
from leadflow.sales import selectors
from leadflow.sales.hours import time_zone_get, working_hours_errors
from leadflow.sales.models import Team, TeamMember

MEMBER_FIELDS = (
    "weight",
    "daily_capacity",
    "is_lead",
    "away",
    "away_until",
    "working_hours",
    "time_zone",
)
MAX_WEIGHT = 100


def _name_clean(name: object) -> str:
    text = str(name or "").strip()
    if not text or len(text) > 100:
        raise ValidationFailed([FieldError("name", "A name of 1 to 100 characters.")])
    return text


@transaction.atomic
def team_create(*, workspace: Workspace, name: str, actor: Actor) -> Team:
    """A new team; its name is unique in the workspace (Conflict otherwise)."""
    try:
        with transaction.atomic():
            team = Team.objects.create(workspace=workspace, name=_name_clean(name))
    except IntegrityError:
        raise Conflict("A team with this name exists.") from None
    audit_record(workspace=workspace, actor=actor, action="team.created", obj=team)
    return team


@transaction.atomic
def team_rename(*, workspace: Workspace, team_id: int, name: str, actor: Actor) -> Team:
    team = selectors.team_get(workspace, team_id)
    before, team.name = team.name, _name_clean(name)
    try:
        with transaction.atomic():
            team.save(update_fields=["name"])
    except IntegrityError:
        raise Conflict("A team with this name exists.") from None
    audit_record(
        workspace=workspace,
        actor=actor,
        action="team.renamed",
        obj=team,
        changes={"name": [before, team.name]},
    )
    return team


@transaction.atomic
def team_delete(*, workspace: Workspace, team_id: int, actor: Actor) -> None:
    """Delete a team no rule uses (Conflict naming the rules otherwise); its assignments
    stay, without their team."""
    team = selectors.team_get(workspace, team_id)
    rules = list(team.rules.values_list("name", flat=True))
    if rules:
        raise Conflict(f"Rules use this team: {', '.join(rules)}.")
    audit_record(workspace=workspace, actor=actor, action="team.deleted", obj=team)
    team.delete()


def member_settings_clean(data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """A salesperson's settings checked: weight 1-100, a daily capacity (a whole number or
    None for no cap), team lead (yes/no: hears of the team's overdue first touches), away
    (yes/no) and until when (an aware datetime or None), working
    hours (``sales.hours``) and an IANA time zone. ``ValidationFailed`` names each bad field;
    an unknown field is refused too."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key in data:
        if key not in MEMBER_FIELDS:
            errors.append(FieldError(key, "Unknown field."))
    if "weight" in data:
        weight = data["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
            errors.append(FieldError("weight", f"A whole number from 1 to {MAX_WEIGHT}."))
        clean["weight"] = weight
    if "daily_capacity" in data:
        capacity = data["daily_capacity"]
        if capacity is not None and (
            isinstance(capacity, bool)
            or not isinstance(capacity, int)
            or not 0 <= capacity <= 10000
        ):
            errors.append(FieldError("daily_capacity", "A whole number from 0, or empty."))
        clean["daily_capacity"] = capacity
    for flag in ("away", "is_lead"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors.append(FieldError(flag, "Yes or no."))
            clean[flag] = data[flag]
    if "away_until" in data:
        until = data["away_until"]
        if until is not None and not (isinstance(until, dt.datetime) and until.tzinfo):
            errors.append(FieldError("away_until", "A date and time with its time zone."))
        clean["away_until"] = until
    if "working_hours" in data:
        errors += working_hours_errors(data["working_hours"])
        clean["working_hours"] = data["working_hours"]
    if "time_zone" in data:
        if time_zone_get(data["time_zone"]) is None:
            errors.append(FieldError("time_zone", "A time zone such as Europe/Berlin."))
        clean["time_zone"] = data["time_zone"]
    if errors:
        raise ValidationFailed(errors)
    if not partial:
        clean = {**{"working_hours": {}, "time_zone": "UTC"}, **clean}
    return clean


@transaction.atomic
def team_member_add(
    *,
    workspace: Workspace,
    team_id: int,
    user_id: int,
    actor: Actor,
    settings: Mapping[str, Any] | None = None,
) -> TeamMember:
    """Put a member of the workspace who may own leads into the team, with ``settings``
    (``member_settings_clean``). Conflict when already in it."""
    team = selectors.team_get(workspace, team_id)
    if not is_member_id(workspace, user_id, permission=LEAD_OWNER_PERMISSION):
        raise ValidationFailed(
            [FieldError("user_id", "Not a member of this workspace who may own leads.")]
        )
    clean = member_settings_clean(settings or {}, partial=False)
    try:
        with transaction.atomic():
            member = TeamMember.objects.create(team=team, user_id=user_id, **clean)
    except IntegrityError:
        raise Conflict("Already in this team.") from None
    audit_record(
        workspace=workspace,
        actor=actor,
        action="team.member_added",
        obj=team,
        changes={"user_id": user_id},
    )
    return member


@transaction.atomic
def team_member_update(
    *, workspace: Workspace, team_member_id: int, data: Mapping[str, Any], actor: Actor
) -> TeamMember:
    """Change a salesperson's settings in a team (a partial update)."""
    member = selectors.team_member_get(workspace, team_member_id)
    clean = member_settings_clean(data, partial=True)
    changes = {}
    for name, value in clean.items():
        if getattr(member, name) != value:
            changes[name] = [str(getattr(member, name)), str(value)]
            setattr(member, name, value)
    if changes:
        member.save(update_fields=list(changes))
        audit_record(
            workspace=workspace,
            actor=actor,
            action="team.member_updated",
            obj=member.team,
            changes={"user_id": member.user_id, **changes},
        )
    return member


@transaction.atomic
def team_member_remove(*, workspace: Workspace, team_member_id: int, actor: Actor) -> None:
    """Take a salesperson out of a team; his leads keep their owner."""
    member = selectors.team_member_get(workspace, team_member_id)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="team.member_removed",
        obj=member.team,
        changes={"user_id": member.user_id},
    )
    member.delete()
