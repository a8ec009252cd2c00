"""Hand-over: the bot gives the conversation to a person (docs/chat/inbox.md).

Guarantees:

- one transaction, under the conversation's row lock (the caller's): the bot stops (status
  ``waiting``, then ``assigned`` when someone takes it), a ``chat.routed`` activity is
  written when the contact is known, the system message tells the visitor what happens
  (payload ``{"handover": "waiting"|"assigned"|"offline", "assignee", "reply_by",
  "ask_email"}``), the person chosen is notified (in the app, and by email after the
  commit) and the chat's clock starts (``handover_at``; the first agent reply stops it,
  ``first_agent_reply_at``). It is started by the flow's hand-over step (the engine's
  ``handover`` effect) or by the visitor's "Talk to a person" button, never by reading
  what the visitor typed;
- routing: the contact's owner when online and under the chat capacity
  (``ChatSettings.agent_capacity`` open chats), else the sales assignment rules' choice
  (the first rule the contact matches; for an anonymous visitor the first rule without
  conditions) among its ONLINE members not away, in working hours and under capacity
  (fewest open chats first, then the team's order), else the unassigned queue; the room
  left is counted again under the chosen member's presence row lock, so hand-overs at
  once never pass the capacity. A lead
  nobody owns that routing gave to a person becomes theirs through the sales assignment
  record (``assignment_record``: its ``owner.changed``, and the lead's first-touch clock,
  which the agent's reply, a ``chat.replied`` touch, stops);
- outside working hours (nobody online, and every team member outside their hours) the
  message says when a reply will come (the earliest next opening of the members' hours)
  and asks for an email (``conversation_email_leave``).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone

from leadflow.chat import conversation_kinds as kinds
from leadflow.chat import selectors
from leadflow.chat.models import AgentPresence, ConversationStatus, MessageAuthor
from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.core.models import NotificationKind, User, Workspace
from leadflow.core.notifications import notifications_create
from leadflow.sales.hours import time_zone_get, working_deadline
from leadflow.sales.models import AssignmentRule, Strategy, Team, TeamMember, Trigger
from leadflow.sales.selectors import rules_matching, team_members_eligible
from leadflow.sales.services.routing import Choice, assignment_record

OFFLINE_TEXT = "We're away right now. Leave your email and we'll reply when we're back."
WAITING_TEXT = "Connecting you to a person..."


@dataclass
class Route:
    """Where a hand-over goes: ``outcome`` assigned (to ``assignee_id``), waiting (the
    queue) or offline (``reply_by``: the next opening); why; the rule and team that chose."""

    outcome: str
    assignee_id: int | None = None
    reason: str = ""
    reply_by: dt.datetime | None = None
    rule: AssignmentRule | None = None
    team: Team | None = None


def agent_name(user: User | None) -> str:
    """What the visitor sees of a person: the first name and the last initial."""
    if user is None:
        return ""
    parts = (user.full_name or user.email.split("@")[0]).split()
    if len(parts) > 1:
        return f"{parts[0]} {parts[-1][0]}."
    return parts[0] if parts else ""


def agent_first_name(user: User | None) -> str:
    return agent_name(user).split()[0] if user is not None and agent_name(user) else ""


def route_choose(workspace: Workspace, contact: Contact | None, now: dt.datetime) -> Route:
    """Where a hand-over of ``contact``'s chat (None: an anonymous visitor) goes now."""
    capacity = selectors.chat_settings_get(workspace).agent_capacity
    online = selectors.agents_online(workspace, now=now)
    loads = selectors.open_chats_by_assignee(workspace, online)

    def free(user_id: int | None) -> bool:
        return user_id in online and loads.get(user_id, 0) < capacity

    if contact is not None and free(contact.owner_id):
        owner = Route("assigned", contact.owner_id, "The contact's owner is online")
        if _seat_take(workspace, owner.assignee_id, capacity):
            return owner
    rule = _rule_for(workspace, contact)
    if rule is not None:
        picked = _rule_pick(workspace, rule, contact, free, loads, now)
        if picked is not None and _seat_take(workspace, picked.assignee_id, capacity):
            return picked
    members = list(
        TeamMember.objects.filter(
            team__workspace=workspace, user__memberships__workspace=workspace
        ).distinct()
    )
    if not online and members and not any(member.is_working(now) for member in members):
        return Route(
            "offline",
            reason="Nobody is online and everyone is outside working hours",
            reply_by=_next_opening(members, now),
        )
    return Route("waiting", reason="Nobody online with room for a chat: left in the queue")


def _seat_take(workspace: Workspace, user_id: int, capacity: int) -> bool:
    """Whether the member still has room, counted under the lock of their presence row
    (held to the commit): two hand-overs at once to one person take turns, and the second
    counts the first's chat."""
    AgentPresence.objects.select_for_update().filter(workspace=workspace, user_id=user_id).first()
    return selectors.open_chats_by_assignee(workspace, [user_id]).get(user_id, 0) < capacity


def _rule_for(workspace: Workspace, contact: Contact | None) -> AssignmentRule | None:
    if contact is not None:
        return rules_matching(workspace, [contact.pk]).get(contact.pk)
    return (
        AssignmentRule.objects.filter(workspace=workspace, enabled=True, conditions={})
        .order_by("position", "pk")
        .first()
    )


def _rule_pick(workspace, rule, contact, free, loads, now) -> Route | None:
    """The rule's person, or the member of its team it would give the chat to now: online,
    not away, in working hours, under capacity; fewest open chats, then the team's order."""
    if rule.strategy == Strategy.FIXED_PERSON:
        if free(rule.owner_id):
            return Route("assigned", rule.owner_id, f"Rule {rule.name}: its person", rule=rule)
        return None
    if rule.strategy == Strategy.ACCOUNT_OWNER and contact is not None and contact.company_id:
        owner_id = contact.company.owner_id if contact.company else None
        if free(owner_id):
            return Route("assigned", owner_id, f"Rule {rule.name}: the account owner", rule=rule)
    if rule.team_id is None:
        return None
    team = rule.team
    available = [
        member
        for member in team_members_eligible(workspace, team)
        if not member.is_away(now) and member.is_working(now) and free(member.user_id)
    ]
    if not available:
        return None
    chosen = min(available, key=lambda member: loads.get(member.user_id, 0))
    reason = f"Rule {rule.name}: fewest open chats in {team.name}"
    return Route("assigned", chosen.user_id, reason, rule=rule, team=team)


def _next_opening(members: list[TeamMember], now: dt.datetime) -> dt.datetime | None:
    """The earliest moment one of ``members`` starts working (their hours, their zone)."""
    openings = [
        working_deadline(member.working_hours, time_zone_get(member.time_zone) or dt.UTC, now, 0)
        for member in members
        if member.working_hours
    ]
    return min(openings) if openings else None


def handover_apply(call, *, step: str = "", reason: str = "flow", client_id: str = "") -> None:
    """Hand the locked conversation of ``call`` over (see the module's guarantees). The
    caller saves the conversation (``_save``) in the same transaction."""
    # conversations imports this module (its hand-over effect): imported here, not above.
    from leadflow.chat.services.conversations import activity_add, message_add

    conversation = call.conversation
    workspace = conversation.workspace
    now = timezone.now()
    contact = conversation.contact
    route = route_choose(workspace, contact, now)
    conversation.handover_at = conversation.handover_at or now
    state = conversation.state.setdefault("engine", {})
    state["waiting"], state["outcome"] = "done", "handover"
    conversation.status = ConversationStatus.WAITING
    payload: dict[str, Any] = {
        "handover": route.outcome,
        "reason": reason,
        "assignee": None,
        "reply_by": route.reply_by.isoformat() if route.reply_by else None,
        "ask_email": route.outcome == "offline",
    }
    text = WAITING_TEXT
    if route.outcome == "assigned":
        assignee = User.objects.get(pk=route.assignee_id)
        conversation.status = ConversationStatus.ASSIGNED
        conversation.assignee, conversation.assigned_at = assignee, now
        payload["assignee"] = agent_first_name(assignee)
        text = f"{agent_first_name(assignee)} will be with you shortly."
        _lead_give(workspace, contact, route, now)
    elif route.outcome == "offline":
        text = selectors.chat_settings_get(workspace).offline_message or OFFLINE_TEXT
    elif _step_said_it(call, step):
        text = ""  # the flow's hand-over step already told the visitor
    message_add(call, MessageAuthor.SYSTEM, text, step=step, payload=payload, client_id=client_id)
    activity_add(call, kinds.CHAT_HANDOVER_REQUESTED, {"step": step, "reason": reason})
    activity_add(
        call,
        kinds.CHAT_ROUTED,
        {"outcome": route.outcome, "assignee_id": route.assignee_id, "reason": route.reason},
    )
    handover_notify(conversation, route.assignee_id)


def _step_said_it(call, step: str) -> bool:
    last = call.messages[-1] if call.messages else None
    return (
        bool(step) and last is not None and last.author == MessageAuthor.BOT and last.step == step
    )


def handover_notify(conversation, assignee_id: int | None) -> None:
    """Tell the person given the chat (in the app and by email), or, for the queue, every
    online member who may take it (in the app)."""
    workspace = conversation.workspace
    link = reverse(
        "chat_inbox_detail",
        kwargs={"workspace_slug": workspace.slug, "conversation_id": conversation.pk},
    )
    who = str(conversation.contact) if conversation.contact_id else "A visitor"
    if assignee_id is not None:
        notifications_create(
            workspace=workspace,
            user_ids=[assignee_id],
            kind=NotificationKind.CHAT,
            title=f"Chat for you: {who}",
            body="A visitor is waiting in the chat.",
            link=link,
            contact_id=conversation.contact_id,
            email=True,
        )
        return
    notifications_create(
        workspace=workspace,
        user_ids=sorted(selectors.agents_online(workspace)),
        kind=NotificationKind.CHAT,
        title=f"Chat waiting: {who}",
        body="A visitor is waiting in the chat queue.",
        link=link,
        contact_id=conversation.contact_id,
    )


def _lead_give(workspace: Workspace, contact: Contact | None, route: Route, now) -> None:
    """A lead nobody owns becomes the agent's through the sales assignment record (its
    first-touch clock starts when a rule chose)."""
    if contact is None:
        return
    locked = Contact.objects.select_for_update().filter(workspace=workspace, pk=contact.pk).first()
    if locked is None or locked.owner_id is not None:
        return
    strategy = route.rule.strategy if route.rule else Strategy.FIXED_PERSON
    assignment_record(
        workspace,
        locked,
        Choice(route.assignee_id, route.team, strategy, f"Chat hand-over: {route.reason}"),
        route.rule,
        Trigger.CREATED,
        Actor.system("chat hand-over"),
        now,
    )
    contact.owner_id = route.assignee_id
