"""REST endpoints of routing (/api/v1/sales/... and a contact's assignments): teams and
their members, assignment rules (with their order), reassignment by hand, the team queue
with its claim, and a contact's assignment history.

Teams and rules are settings (``settings:read`` / ``settings:write``); reassigning and
claiming change contacts (``contacts:write``); the queue and the history read contacts
(``contacts:read``). Another workspace's ids answer 404; unknown fields and bad values 422
naming each field; a lead claimed first by someone else 409. Creating POSTs honour
``Idempotency-Key``."""

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from leadflow.contacts.selectors import contact_get, cursor_paginate
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.sales import selectors, services
from leadflow.sales.models import Escalation, Fallback, Strategy

router = Router(tags=["sales"])
BIG = 2**63 - 1
SETTINGS_READ, SETTINGS_WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE
CONTACTS_READ, CONTACTS_WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE
WORKING_HOURS = (
    'Per weekday (mon...sun) a list of ["HH:MM", "HH:MM"] spans in the member\'s time zone; '
    "a weekday missing is a day off; {} means always."
)


# --- schemas ------------------------------------------------------------------------------------


class TeamMemberOut(Schema):
    id: int
    user_id: int
    email: str
    weight: int
    daily_capacity: int | None
    is_lead: bool
    away: bool
    away_until: dt.datetime | None
    working_hours: dict[str, Any]
    time_zone: str

    @staticmethod
    def resolve_email(member) -> str:
        return member.user.email


class TeamOut(Schema):
    id: int
    name: str
    members: list[TeamMemberOut]
    created_at: dt.datetime

    @staticmethod
    def resolve_members(team) -> list:
        return list(team.members.all())


class TeamIn(StrictSchema):
    name: str


class MemberSettings(StrictSchema):
    weight: int | None = Field(None, description="1 to 100: his share in a weighted round robin.")
    daily_capacity: int | None = Field(None, description="Leads a local day; null: no cap.")
    is_lead: bool | None = Field(
        None, description="A team lead: hears of the team's overdue first touches."
    )
    away: bool | None = None
    away_until: dt.datetime | None = Field(None, description="With its time zone; null: open.")
    working_hours: dict[str, Any] | None = Field(None, description=WORKING_HOURS)
    time_zone: str | None = Field(None, description="An IANA zone such as Europe/Berlin.")


class MemberIn(MemberSettings):
    user_id: int = Field(description="A member of the workspace who may own leads.")


class RuleOut(Schema):
    id: int
    name: str
    position: int
    enabled: bool
    conditions: dict[str, Any]
    strategy: Strategy
    team_id: int | None
    owner_id: int | None
    fallback: Fallback
    first_touch_minutes: int | None
    first_touch_business_hours: bool
    breach_escalation: Escalation
    escalate_after_minutes: int
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleIn(StrictSchema):
    name: str
    strategy: Strategy
    conditions: dict[str, Any] = Field(
        default_factory=dict, description="A tree in the condition language; {}: everyone."
    )
    team_id: int | None = Field(None, description="The team of a team strategy.")
    owner_id: int | None = Field(None, description="The person of a fixed-person rule.")
    fallback: Fallback = Fallback.QUEUE
    enabled: bool = True
    position: int | None = Field(None, description="Where in the order; null: last.")
    first_touch_minutes: int | None = Field(
        None, description="Minutes to the first touch (null: no deadline); 1 to 10080."
    )
    first_touch_business_hours: bool = Field(
        True, description="Count only the owner's working hours towards the deadline."
    )
    breach_escalation: Escalation = Field(
        Escalation.NOTIFY_TEAM_LEAD, description="After the reminder, if still untouched."
    )
    escalate_after_minutes: int = Field(15, description="Minutes after the deadline; 1 to 10080.")


class RulePatch(StrictSchema):
    name: str | None = None
    strategy: Strategy | None = None
    conditions: dict[str, Any] | None = None
    team_id: int | None = None
    owner_id: int | None = None
    fallback: Fallback | None = None
    enabled: bool | None = None
    position: int | None = None
    first_touch_minutes: int | None = None
    first_touch_business_hours: bool | None = None
    breach_escalation: Escalation | None = None
    escalate_after_minutes: int | None = None


class RuleOrderIn(StrictSchema):
    rule_ids: list[int] = Field(description="Every rule of the workspace, once, in order.")


class AssignmentOut(Schema):
    id: int
    contact_id: int
    owner_id: int | None
    queued: bool = Field(description="Left unassigned in the team's queue.")
    team_id: int | None
    team: str
    rule_id: int | None
    rule: str
    strategy: str
    reason: str
    trigger: str = Field(description="created, mql, manual, claimed or owner_left")
    actor: str
    assigned_at: dt.datetime

    @staticmethod
    def resolve_team(assignment) -> str:
        return assignment.team.name if assignment.team_id else ""

    @staticmethod
    def resolve_rule(assignment) -> str:
        return assignment.rule.name if assignment.rule_id else ""

    @staticmethod
    def resolve_actor(assignment) -> str:
        return assignment.actor_label


class AssignmentPage(Schema):
    items: list[AssignmentOut]
    next_cursor: str | None


class ReassignIn(StrictSchema):
    contact_ids: list[int] = Field(min_length=1, max_length=1000)
    owner_id: int | None = Field(None, description="Give them to this member...")
    team_id: int | None = Field(None, description="...or share them in turn in this team.")


class ReassignOut(Schema):
    assigned: list[AssignmentOut]


class ClaimIn(StrictSchema):
    user_id: int = Field(
        description="Who claims: a member of the lead's team, or an owner or admin."
    )


class QueueItemOut(Schema):
    contact_id: int
    name: str
    email: str | None
    company: str
    lifecycle_stage: str
    engagement_score: float
    rule: str
    reason: str
    queued_at: dt.datetime

    @staticmethod
    def resolve_name(assignment) -> str:
        contact = assignment.contact
        return f"{contact.first_name} {contact.last_name}".strip()

    @staticmethod
    def resolve_email(assignment) -> str | None:
        return assignment.contact.email

    @staticmethod
    def resolve_company(assignment) -> str:
        company = assignment.contact.company
        return company.name if company else ""

    @staticmethod
    def resolve_lifecycle_stage(assignment) -> str:
        return assignment.contact.lifecycle_stage

    @staticmethod
    def resolve_engagement_score(assignment) -> float:
        return assignment.contact.engagement_score

    @staticmethod
    def resolve_rule(assignment) -> str:
        return assignment.rule.name if assignment.rule_id else ""

    @staticmethod
    def resolve_queued_at(assignment) -> dt.datetime:
        return assignment.assigned_at


class QueuePage(Schema):
    items: list[QueueItemOut]
    next_cursor: str | None


def _team(workspace, team_id: int):
    return selectors.team_list(workspace).get(pk=selectors.team_get(workspace, team_id).pk)


def _assignment_out(assignment) -> dict:
    return AssignmentOut.from_orm(assignment).dict()


# --- teams --------------------------------------------------------------------------------------


@router.get("/sales/teams", response=list[TeamOut], summary="The teams and their members")
def team_list(request: HttpRequest):
    workspace, _ = require_scope(request, SETTINGS_READ)
    return list(selectors.team_list(workspace))


@router.post("/sales/teams", response={201: TeamOut}, summary="Create a team")
def team_create(request: HttpRequest, payload: TeamIn):
    """A team's name is unique in the workspace (409 otherwise)."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)

    def produce() -> HttpResponse:
        team = services.team_create(workspace=workspace, name=payload.name, actor=actor)
        return json_response(TeamOut.from_orm(_team(workspace, team.pk)).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.get("/sales/teams/{team_id}", response=TeamOut, summary="One team")
def team_get(request: HttpRequest, team_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, SETTINGS_READ)
    return _team(workspace, team_id)


@router.patch("/sales/teams/{team_id}", response=TeamOut, summary="Rename a team")
def team_rename(request: HttpRequest, payload: TeamIn, team_id: int = Path(..., ge=1, le=BIG)):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    services.team_rename(workspace=workspace, team_id=team_id, name=payload.name, actor=actor)
    return _team(workspace, team_id)


@router.delete("/sales/teams/{team_id}", response={204: None}, summary="Delete a team")
def team_delete(request: HttpRequest, team_id: int = Path(..., ge=1, le=BIG)):
    """409 while a rule uses the team; its assignments stay, without their team."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    services.team_delete(workspace=workspace, team_id=team_id, actor=actor)
    return Status(204, None)


@router.post(
    "/sales/teams/{team_id}/members", response={201: TeamMemberOut}, summary="Add to a team"
)
def team_member_add(
    request: HttpRequest, payload: MemberIn, team_id: int = Path(..., ge=1, le=BIG)
):
    """Put a member who may own leads into the team with his settings (409 when already
    in it)."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    settings = payload.dict(exclude_unset=True)
    user_id = settings.pop("user_id")

    def produce() -> HttpResponse:
        member = services.team_member_add(
            workspace=workspace, team_id=team_id, user_id=user_id, actor=actor, settings=settings
        )
        member = selectors.team_member_get(workspace, member.pk)
        return json_response(TeamMemberOut.from_orm(member).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.patch(
    "/sales/team-members/{team_member_id}",
    response=TeamMemberOut,
    summary="Change a salesperson's settings in a team",
)
def team_member_update(
    request: HttpRequest, payload: MemberSettings, team_member_id: int = Path(..., ge=1, le=BIG)
):
    """Only the fields given change (``null`` clears a cap or an end of absence)."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    services.team_member_update(
        workspace=workspace,
        team_member_id=team_member_id,
        data=payload.dict(exclude_unset=True),
        actor=actor,
    )
    return selectors.team_member_get(workspace, team_member_id)


@router.delete(
    "/sales/team-members/{team_member_id}", response={204: None}, summary="Take out of a team"
)
def team_member_remove(request: HttpRequest, team_member_id: int = Path(..., ge=1, le=BIG)):
    """His leads keep their owner."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    services.team_member_remove(workspace=workspace, team_member_id=team_member_id, actor=actor)
    return Status(204, None)


# --- rules --------------------------------------------------------------------------------------


@router.get("/sales/rules", response=list[RuleOut], summary="The assignment rules, in order")
def rule_list(request: HttpRequest):
    workspace, _ = require_scope(request, SETTINGS_READ)
    return list(selectors.rule_list(workspace))


@router.post("/sales/rules", response={201: RuleOut}, summary="Add an assignment rule")
def rule_create(request: HttpRequest, payload: RuleIn):
    """The first enabled rule (by position) whose conditions a new lead matches decides."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    data = payload.dict()
    if data.get("position") is None:
        data.pop("position", None)

    def produce() -> HttpResponse:
        rule = services.assignment_rule_create(workspace=workspace, data=data, actor=actor)
        return json_response(RuleOut.from_orm(rule).dict(), status=201)

    return idempotent(request, workspace, produce)


@router.put("/sales/rules/order", response=list[RuleOut], summary="Put the rules in order")
def rule_reorder(request: HttpRequest, payload: RuleOrderIn):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    return services.assignment_rules_reorder(
        workspace=workspace, rule_ids=payload.rule_ids, actor=actor
    )


@router.get("/sales/rules/{assignment_rule_id}", response=RuleOut, summary="One assignment rule")
def rule_get(request: HttpRequest, assignment_rule_id: int = Path(..., ge=1, le=BIG)):
    workspace, _ = require_scope(request, SETTINGS_READ)
    return selectors.rule_get(workspace, assignment_rule_id)


@router.patch(
    "/sales/rules/{assignment_rule_id}", response=RuleOut, summary="Change an assignment rule"
)
def rule_update(
    request: HttpRequest, payload: RulePatch, assignment_rule_id: int = Path(..., ge=1, le=BIG)
):
    """Only the fields given change."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    return services.assignment_rule_update(
        workspace=workspace,
        rule_id=assignment_rule_id,
        data=payload.dict(exclude_unset=True),
        actor=actor,
    )


@router.delete("/sales/rules/{assignment_rule_id}", response={204: None}, summary="Delete a rule")
def rule_delete(request: HttpRequest, assignment_rule_id: int = Path(..., ge=1, le=BIG)):
    """The assignments it made keep their record, without the rule."""
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    services.assignment_rule_delete(workspace=workspace, rule_id=assignment_rule_id, actor=actor)
    return Status(204, None)


# --- reassigning, the queue, the history --------------------------------------------------------


@router.post("/sales/reassign", response=ReassignOut, summary="Reassign leads by hand")
def reassign(request: HttpRequest, payload: ReassignIn):
    """To a person (``owner_id``) or shared in turn in a team (``team_id``), whoever owns
    them now; one already the person's is left as it is, and ids of other workspaces are
    passed over. Recorded on each contact's timeline with the key as the actor."""
    workspace, actor = require_scope(request, CONTACTS_WRITE)

    def produce() -> HttpResponse:
        made = services.leads_reassign(
            workspace=workspace,
            contact_ids=payload.contact_ids,
            owner_id=payload.owner_id,
            team_id=payload.team_id,
            actor=actor,
        )
        loaded = selectors.assignments_loaded(workspace, [assignment.pk for assignment in made])
        return json_response({"assigned": [_assignment_out(item) for item in loaded]})

    return idempotent(request, workspace, produce)


@router.get(
    "/sales/teams/{team_id}/queue",
    response=QueuePage,
    summary="The leads waiting in a team's queue, newest first",
)
def team_queue(
    request: HttpRequest,
    team_id: int = Path(..., ge=1, le=BIG),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    """Leads nobody in the team was available for, still without an owner. Pages are
    keyset-based: pass ``next_cursor`` as ``cursor``."""
    workspace, _ = require_scope(request, CONTACTS_READ)
    team = selectors.team_get(workspace, team_id)
    page = cursor_paginate(
        selectors.team_queue(workspace, team), sort="-assigned_at", cursor=cursor, limit=limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/contacts/{contact_id}/claim",
    response={201: AssignmentOut},
    summary="Claim a lead from its team's queue",
)
def claim(request: HttpRequest, payload: ClaimIn, contact_id: int = Path(..., ge=1, le=BIG)):
    """First claim wins: a lead someone claimed first (or that was routed since) answers
    409; a ``user_id`` who is not in the lead's team (nor an owner or admin) 403."""
    workspace, actor = require_scope(request, CONTACTS_WRITE)

    def produce() -> HttpResponse:
        made = services.lead_claim(
            workspace=workspace, contact_id=contact_id, user_id=payload.user_id, actor=actor
        )
        loaded = selectors.assignments_loaded(workspace, [made.pk])
        return json_response(_assignment_out(loaded[0]), status=201)

    return idempotent(request, workspace, produce)


@router.get(
    "/contacts/{contact_id}/assignments",
    response=AssignmentPage,
    summary="A contact's assignments, newest first",
)
def contact_assignments(
    request: HttpRequest,
    contact_id: int = Path(..., ge=1, le=BIG),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
):
    """Who got the contact (or that it was queued for a team), by which rule and
    strategy, why, on which trigger, by whom and when."""
    workspace, actor = require_scope(request, CONTACTS_READ)
    contact = contact_get(workspace, actor, contact_id)
    page = cursor_paginate(
        selectors.contact_assignments(workspace, contact.pk),
        sort="-assigned_at",
        cursor=cursor,
        limit=limit,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}
