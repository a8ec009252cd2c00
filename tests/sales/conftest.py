"""Helpers of routing's tests: salespeople, teams, rules and leads made through the real
services."""

import datetime as dt
import itertools

import pytest

from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.sales.models import AssignmentRule, Team, TeamMember
from leadflow.sales.services import assignment_rule_create, team_create, team_member_add

# A Wednesday, mid-morning in London (winter: London is on UTC).
WEDNESDAY_10_UTC = dt.datetime(2026, 1, 14, 10, 0, tzinfo=dt.UTC)
OFFICE_HOURS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}

_numbers = itertools.count(1)


@pytest.fixture
def salesperson(make_member):
    """salesperson(name) -> User: a member with the sales role."""

    def make(name: str):
        return make_member("sales", f"{name}@acme-widgets.com").user

    return make


@pytest.fixture
def team_of(workspace, owner_actor):
    """team_of(name, [(user, settings), ...] or [user, ...]) -> (Team, [TeamMember])."""

    def make(name: str, people) -> tuple[Team, list[TeamMember]]:
        team = team_create(workspace=workspace, name=name, actor=owner_actor)
        members = []
        for person in people:
            user, settings = person if isinstance(person, tuple) else (person, {})
            members.append(
                team_member_add(
                    workspace=workspace,
                    team_id=team.pk,
                    user_id=user.pk,
                    actor=owner_actor,
                    settings=settings,
                )
            )
        return team, members

    return make


@pytest.fixture
def rule(workspace, owner_actor):
    """rule(strategy, team=None, owner=None, conditions={}, **fields) -> AssignmentRule."""

    def make(strategy: str, team=None, owner=None, conditions=None, **fields) -> AssignmentRule:
        data = {
            "name": fields.pop("name", f"Rule {next(_numbers)}"),
            "strategy": strategy,
            "conditions": conditions or {},
            **fields,
        }
        if team is not None:
            data["team_id"] = team.pk
        if owner is not None:
            data["owner_id"] = owner.pk
        return assignment_rule_create(workspace=workspace, data=data, actor=owner_actor)

    return make


@pytest.fixture
def lead(workspace, owner_actor):
    """lead(**fields) -> Contact: a new contact without an owner."""

    def make(**fields) -> Contact:
        data = {"email": f"lead{next(_numbers)}@example.org", **fields}
        return contact_upsert(workspace=workspace, data=data, actor=owner_actor).contact

    return make


def condition(field: str, operator: str, value) -> dict:
    """A one-leaf condition tree in its JSON form."""
    return {
        "version": 1,
        "match": "all",
        "children": [{"field": field, "operator": operator, "value": value}],
    }
