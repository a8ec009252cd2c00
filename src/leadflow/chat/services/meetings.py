"""The meeting step: offer free times from a member's working hours, book the one chosen.

Guarantees (docs/chat/flows.md, "Meeting"):

- Whose calendar: the contact's owner, else the member the step names (the checks make it a
  member who may own leads). Free times come from ``chat.slots.free_slots`` over the
  member's working hours (their first sales team membership; none set: weekdays 09:00 to
  17:00) in their time zone (``sales.selectors.assignee_time_zone``), leaving out what they
  have booked (``ChatMeeting``) and their open call and meeting follow-ups (each taking
  ``FOLLOWUP_BUSY``). Offered as ``{"slots": [{label, value}]}`` and as choices; none
  free: the visitor is told and the flow goes on at ``next``.
- Booking is race-safe: under the member's membership row lock the time is checked free
  again, then one ``ChatMeeting`` row per member and start (a unique constraint, the last
  word when two visitors take one time at once), a meeting follow-up for the member
  (``sales.services.followup_create``: ``followup.scheduled`` on the timeline) and
  ``chat.meeting_booked`` are written together. A time taken meanwhile is refused and the
  visitor is offered the times still free.
- The confirmation email (with an ``.ics`` invitation) goes from the worker, once
  (``meeting_confirmation_send``, claimed by ``confirmed_at`` in the send's transaction).
"""

import datetime as dt
import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from leadflow.chat import engine
from leadflow.chat.models import ChatMeeting, MessageAuthor
from leadflow.chat.services.conversations import (
    STEP_EFFECTS,
    StepCall,
    step_contact_apply,
    step_message_add,
    step_record,
)
from leadflow.chat.slots import free_slots, ics_event, slot_label, slot_parse, slot_value
from leadflow.chat.step_kinds import CHAT_MEETING_BOOKED
from leadflow.core.actors import Actor
from leadflow.core.errors import DomainError
from leadflow.core.models import Membership, Workspace
from leadflow.core.selectors import LEAD_OWNER_PERMISSION, is_member_id
from leadflow.core.tasks import task_schedule
from leadflow.sales.models import FollowUp, FollowUpKind, TeamMember
from leadflow.sales.selectors import assignee_time_zone
from leadflow.sales.services import followup_create

logger = logging.getLogger(__name__)
CONFIRM_TASK = "leadflow.chat.tasks.meeting_confirmation_task"
FOLLOWUP_BUSY = dt.timedelta(minutes=30)
ALL_SLOTS = 10_000
PICK = "Pick a time that suits you:"
AGAIN = "Sorry, that time was just taken. These times are still free:"
NO_TIMES = "Sorry, there is no free time in the coming days. We will get in touch."
NOT_BOOKED = "Sorry, we could not book that time. Please pick another."


def _calendar(workspace: Workspace, member_id: int) -> tuple[dict, dt.tzinfo, str]:
    """The member's working hours, time zone and its name."""
    zone, zone_name = assignee_time_zone(workspace, member_id)
    hours = (
        TeamMember.objects.filter(team__workspace=workspace, user_id=member_id)
        .order_by("pk")
        .values_list("working_hours", flat=True)
        .first()
    )
    return hours or {}, zone, zone_name


def _busy(workspace: Workspace, member_id: int, since: dt.datetime, until: dt.datetime) -> list:
    """The member's taken times between ``since`` and ``until``."""
    booked = ChatMeeting.objects.filter(
        workspace=workspace, member_id=member_id, starts_at__lt=until, ends_at__gt=since
    ).values_list("starts_at", "ends_at")
    followups = FollowUp.objects.filter(
        workspace=workspace,
        assignee_id=member_id,
        done_at__isnull=True,
        kind__in=[FollowUpKind.MEETING, FollowUpKind.CALL],
        due_at__lt=until,
        due_at__gt=since - FOLLOWUP_BUSY,
    ).values_list("due_at", flat=True)
    return list(booked) + [(due, due + FOLLOWUP_BUSY) for due in followups]


def member_free_slots(
    workspace: Workspace, member_id: int, *, duration: int, days: int, now: dt.datetime,
    limit: int,
) -> tuple[list[tuple[dt.datetime, dt.datetime]], dt.tzinfo, str]:  # fmt: skip
    """The member's free times (see the module docstring), their zone and its name."""
    hours, zone, zone_name = _calendar(workspace, member_id)
    busy = _busy(workspace, member_id, now, now + dt.timedelta(days=days + 1))
    slots = free_slots(
        hours=hours, zone=zone, now=now, duration=duration, days=days, busy=busy, limit=limit
    )
    return slots, zone, zone_name


def _member_of(call: StepCall, data: dict[str, Any]) -> int | None:
    """Whose calendar: the contact's owner, else the step's member (while still one)."""
    contact = call.conversation.contact
    if contact is not None and contact.owner_id:
        return contact.owner_id
    member = data.get("member")
    workspace = call.conversation.workspace
    if is_member_id(workspace, member, permission=LEAD_OWNER_PERMISSION):
        return member
    return None


def _meeting_offer(call: StepCall, effect: engine.Effect) -> engine.Event:
    step_contact_apply(call)  # the email just given makes the contact (and shows its owner)
    conversation = call.conversation
    member_id = _member_of(call, effect.data)
    conversation.state.setdefault("meetings", {})[effect.step] = member_id
    slots: list = []
    if member_id is not None:
        slots, zone, zone_name = member_free_slots(
            conversation.workspace,
            member_id,
            duration=effect.data["duration"],
            days=effect.data["days"],
            now=timezone.now(),
            limit=8,
        )
    if not slots:
        step_message_add(call, MessageAuthor.BOT, NO_TIMES, step=effect.step)
        return engine.Offer(())
    choices = [
        {"value": slot_value(start), "label": slot_label(start, zone, zone_name)}
        for start, _ in slots
    ]
    text = AGAIN if effect.data.get("again") else (effect.data.get("text") or PICK)
    payload = {"slots": choices, "input": "choice", "choices": choices}
    step_message_add(call, MessageAuthor.BOT, text, step=effect.step, payload=payload)
    return engine.Offer(tuple((c["value"], c["label"]) for c in choices))


class _Taken(Exception):
    pass


def _book(call: StepCall, effect: engine.Effect) -> engine.Event:
    """Book the chosen time (or refuse it: taken meanwhile)."""
    step_contact_apply(call)
    conversation = call.conversation
    workspace = conversation.workspace
    member_id = (conversation.state.get("meetings") or {}).get(effect.step)
    start = slot_parse(effect.data["slot"])
    if conversation.contact_id is None or member_id is None or start is None:
        step_message_add(call, MessageAuthor.BOT, NOT_BOOKED, step=effect.step)
        return engine.Booked(booked=False)
    end = start + dt.timedelta(minutes=effect.data["duration"])
    now = timezone.now()
    try:
        with transaction.atomic():
            # One booking of this member at a time: the check below stays true until commit.
            if (
                not Membership.objects.select_for_update()
                .filter(workspace=workspace, user_id=member_id)
                .exists()
            ):
                raise _Taken
            free, _, _ = member_free_slots(
                workspace,
                member_id,
                duration=effect.data["duration"],
                days=effect.data["days"],
                now=now,
                limit=ALL_SLOTS,
            )
            if (start, end) not in free:
                raise _Taken
            meeting = ChatMeeting.objects.create(
                workspace=workspace,
                conversation=conversation,
                contact_id=conversation.contact_id,
                member_id=member_id,
                step=effect.step,
                starts_at=start,
                ends_at=end,
            )
            contact = conversation.contact
            who = " ".join(filter(None, [contact.first_name, contact.last_name])) or contact.email
            followup = followup_create(
                workspace=workspace,
                contact_id=contact.pk,
                data={
                    "assignee_id": member_id,
                    "kind": FollowUpKind.MEETING,
                    "title": f"Meeting with {who} (booked in the chat)"[:200],
                    "due_at": start,
                    "notes": f"{effect.data['duration']} minutes, booked in the chat "
                    f"({call.flow.name}).",
                },
                actor=Actor.system(f"chat: {call.flow.name}"[:200]),
            )
            ChatMeeting.objects.filter(pk=meeting.pk).update(followup_id=followup.pk)
            step_record(
                call,
                CHAT_MEETING_BOOKED,
                {
                    "step": effect.step,
                    "starts_at": start.isoformat(),
                    "ends_at": end.isoformat(),
                    "member_id": member_id,
                    "followup_id": followup.pk,
                },
            )
            task_schedule(CONFIRM_TASK, meeting.pk)
    except (_Taken, IntegrityError):
        return engine.Booked(booked=False)
    except DomainError as error:  # the member cannot see the lead, say
        logger.warning("chat %s: meeting not booked: %s", conversation.pk, error)
        step_message_add(call, MessageAuthor.BOT, NOT_BOOKED, step=effect.step)
        return engine.Booked(booked=False)
    text = f"Booked: {effect.data['label']}. A confirmation is on its way to your inbox."
    payload = {
        "meeting": {"id": meeting.pk, "starts_at": start.isoformat(), "label": effect.data["label"]}
    }
    step_message_add(call, MessageAuthor.BOT, text, step=effect.step, payload=payload)
    return engine.Booked(booked=True)


def meeting_confirmation_send(*, meeting_id: int) -> int:
    """Email the visitor the booked meeting with its ``.ics``, once (the claim on
    ``confirmed_at`` commits with the send; a failed send rolls it back for the retry).
    How many were sent (0 or 1)."""
    with transaction.atomic():
        meeting = (
            ChatMeeting.objects.select_for_update(of=("self",))
            .select_related("contact", "member", "workspace")
            .filter(pk=meeting_id)
            .first()
        )
        if meeting is None or meeting.confirmed_at or not meeting.contact.email:
            return 0
        now = timezone.now()
        zone, zone_name = assignee_time_zone(meeting.workspace, meeting.member_id)
        member = meeting.member
        host = member.full_name or member.email
        context = {
            "meeting": meeting,
            "workspace": meeting.workspace.name,
            "host": host,
            "when": slot_label(meeting.starts_at, zone, zone_name),
            "minutes": int((meeting.ends_at - meeting.starts_at).total_seconds() // 60),
        }
        summary = f"Meeting with {host} ({meeting.workspace.name})"
        message = EmailMultiAlternatives(
            subject=summary,
            body=render_to_string("chat/email/meeting_confirmation.txt", context),
            to=[meeting.contact.email],
            reply_to=[member.email] if member.email else None,
        )
        message.attach_alternative(
            render_to_string("chat/email/meeting_confirmation.html", context), "text/html"
        )
        site = urlsplit(settings.LEADFLOW_BASE_URL or "").hostname or "leadflow.local"
        calendar = ics_event(
            uid=f"chat-meeting-{meeting.pk}@{site}",
            start=meeting.starts_at,
            end=meeting.ends_at,
            summary=summary,
            description=f"Booked in the chat. {context['minutes']} minutes.",
            organizer=member.email,
            attendee=meeting.contact.email,
            now=now,
        )
        message.attach("invite.ics", calendar, "text/calendar; method=PUBLISH; charset=UTF-8")
        meeting.confirmed_at = now
        meeting.save(update_fields=["confirmed_at"])
        message.send()
    return 1


STEP_EFFECTS["meeting"] = _meeting_offer
STEP_EFFECTS["book"] = _book
