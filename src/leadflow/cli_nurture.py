"""``leadflow nurture ...``: sequences, broadcasts, the sending run and the review of
deliveries in the "unknown" state, for operators (docs/nurture/sequences.md,
docs/nurture/broadcasts.md, docs/nurture/sending.md).

The commands are thin, as every ``leadflow`` command: each one finds the workspace by its
slug, calls the nurture service the API and the pages call (the same checks: a paused
sequence enrols no one, a started broadcast cannot be scheduled again, only unknown
deliveries can be reviewed) and prints what it did; ``--json`` prints lists as JSON. An
id of another workspace is "not found", as in the API. The command line acts as the
operator (the actor "command line"), like the rest of ``leadflow``.
Apart from ``leadflow.cli`` (past a thousand lines): its parser adds ``nurture_commands``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import defaultdict
from typing import Any

from leadflow.cli import CommandFailed, workspace_by_slug
from leadflow.core.errors import FieldError, NotFound, ValidationFailed

ACTOR_LABEL = "command line"


def _id(text: str) -> int:
    """A positive id that fits the database (a 40-digit number is a usage error)."""
    if not text.isdecimal() or not 1 <= int(text) < 2**63:
        raise argparse.ArgumentTypeError(f"'{text}' is not an id")
    return int(text)


def _moment(text: str) -> dt.datetime:
    """An ISO 8601 date and time; without a zone it is UTC."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date and time such as 2026-12-24T09:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _group(commands: Any, name: str, help_text: str) -> Any:
    """A command group whose bare use prints its help and exits 2."""
    parser = commands.add_parser(
        name, help=help_text, description=help_text[:1].upper() + help_text[1:] + "."
    )

    def show(options: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    parser.set_defaults(handler=show)
    return parser.add_subparsers(title="commands", metavar="COMMAND")


def _command(group: Any, name: str, handler, help_text: str, *, lists=False, target=""):
    """A subcommand with --workspace, --json when it prints a list (``lists``), and the id
    of its ``target`` ("sequence", "broadcast") as its argument."""
    sub = group.add_parser(name, help=help_text, description=handler.__doc__)
    sub.set_defaults(handler=handler)
    sub.add_argument("--workspace", required=True, metavar="SLUG", help="workspace slug")
    if lists:
        sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    if target:
        sub.add_argument(target, type=_id, metavar="ID", help=f"the {target}'s id")
    return sub


def nurture_commands(commands: Any) -> None:
    """Add ``nurture`` and its subcommands to the ``leadflow`` parser."""
    nurture = _group(commands, "nurture", "nurture: sequences, broadcasts and sending")

    group = _group(nurture, "sequences", "drip sequences and their enrolments")
    for name, handler, text, lists in (
        ("list", cmd_sequences_list, "the sequences with their counts", True),
        ("show", cmd_sequence_show, "one sequence: its steps, who waits where", True),
        ("pause", cmd_sequence_pause, "pause: everyone stays where they stand", False),
        ("resume", cmd_sequence_resume, "activate again (or for the first time)", False),
    ):
        _command(group, name, handler, text, lists=lists, target=name != "list" and "sequence")
    sub = _command(group, "enrol", cmd_sequence_enrol, "enrol contacts", target="sequence")
    sub.add_argument(
        "--contact", dest="contacts", action="append", default=[], type=_id, metavar="ID",
        help="a contact's id (repeatable)",
    )  # fmt: skip
    sub.add_argument(
        "--email", dest="emails", action="append", default=[], metavar="ADDRESS",
        help="a contact's email address (repeatable)",
    )  # fmt: skip
    sub.add_argument("--segment", type=_id, metavar="ID", help="every member of a segment")
    remove = _command(group, "remove", cmd_enrollment_remove, "take one enrolment out")
    remove.add_argument("enrollment", type=_id, metavar="ENROLMENT_ID", help="the enrolment's id")
    remove.add_argument("--reason", default="", help="why (kept with the enrolment)")

    group = _group(nurture, "broadcasts", "broadcasts (newsletters) and their A/B tests")
    for name, handler, text, lists in (
        ("list", cmd_broadcasts_list, "the broadcasts, newest first", True),
        ("show", cmd_broadcast_show, "one broadcast: variants, figures, winner", True),
        ("send", cmd_broadcast_send, "send now (the worker starts it at once)", False),
        ("cancel", cmd_broadcast_cancel, "cancel: what is still queued is skipped", False),
    ):
        _command(group, name, handler, text, lists=lists, target=name != "list" and "broadcast")
    sub = _command(group, "schedule", cmd_broadcast_schedule, "send later", target="broadcast")
    sub.add_argument(
        "--at", required=True, type=_moment, metavar="WHEN",
        help="ISO date and time, e.g. 2026-12-24T09:00+01:00 (UTC without a zone)",
    )  # fmt: skip

    run = nurture.add_parser(
        "run", help="run the broadcasts, sequences and sender once", description=cmd_run.__doc__
    )
    run.set_defaults(handler=cmd_run)
    run.add_argument("--once", action="store_true", required=True, help="one pass, then exit")

    group = _group(nurture, "deliveries", "deliveries whose fate is unknown")
    _command(group, "unknown", cmd_deliveries_unknown, "the deliveries to review", lists=True)
    sub = _command(group, "resolve", cmd_deliveries_resolve, "re-queue or drop unknown deliveries")
    sub.add_argument("deliveries", nargs="+", type=_id, metavar="ID", help="delivery ids")
    decision = sub.add_mutually_exclusive_group(required=True)
    decision.add_argument(
        "--requeue", dest="decision", action="store_const", const="requeue",
        help="send again, with the same Message-ID",
    )  # fmt: skip
    decision.add_argument(
        "--drop", dest="decision", action="store_const", const="drop",
        help="never send (it went, or it should not)",
    )  # fmt: skip


# --- output ---------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def _table(rows: list[list[Any]], header: list[str]) -> None:
    """Columns as wide as their widest cell; numbers right-aligned."""
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [
        bool(rows) and all(isinstance(row[i], int) for row in rows) for i in range(len(header))
    ]
    for row in cells:
        print(
            "  ".join(
                cell.rjust(width) if numeric[i] else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )


def _actor():
    from leadflow.core.actors import Actor

    return Actor.system(ACTOR_LABEL)


# --- sequences ------------------------------------------------------------------------------


def cmd_sequences_list(options: argparse.Namespace) -> int:
    """The workspace's sequences (archived ones too) by name: status, how many were
    enrolled, how many are in the sequence now, how many met its goal."""
    from leadflow.nurture.selectors.sequences import sequence_list

    workspace = workspace_by_slug(options.workspace)
    rows = [
        {
            "id": sequence.pk,
            "name": sequence.name,
            "status": sequence.status,
            "enrolled": sequence.enrolled,
            "active": sequence.in_sequence,
            "converted": sequence.converted,
        }
        for sequence in sequence_list(workspace, archived=True)
    ]
    if options.json:
        _print_json(rows)
    elif not rows:
        print(f"'{workspace.slug}' has no sequences.")
    else:
        _table(
            [list(row.values()) for row in rows],
            ["id", "name", "status", "enrolled", "active", "converted"],
        )
    return 0


# What `sequences show` says of a step, from its fields (nurture.sequence_steps).
STEP_SHOWN = {
    "email": "message {message_id}", "wait": "{seconds} s", "tag": "{tag}", "untag": "{tag}",
    "wait_for": "{kind} (at most {timeout_seconds} s)", "wait_until": "{weekdays} at {time}",
    "branch": "yes: step {yes}, no: step {no}", "stage": "{stage}", "owner": "member {user_id}",
    "list_add": "list {segment_id}", "enroll": "sequence {sequence_id}", "followup": "{title}",
    "notify_owner": "{title}",
}  # fmt: skip


def _step_text(step: dict) -> str:
    shape = STEP_SHOWN.get(step.get("type", ""), "")
    return f"{step.get('type', '')} {shape.format_map(defaultdict(str, step))}".strip()


def cmd_sequence_show(options: argparse.Namespace) -> int:
    """One sequence: its status, trigger and counts, then each step with how many contacts
    wait on it now, how many passed it and how many of those met the goal."""
    from leadflow.nurture.selectors.sequences import sequence_figures, sequence_get

    workspace = workspace_by_slug(options.workspace)
    sequence = sequence_get(workspace, options.sequence)
    figures = sequence_figures(sequence)
    steps = []
    for step in sequence.steps or []:
        figure = figures.steps.get(step["id"])
        steps.append(
            {
                "id": step["id"],
                "type": step.get("type", ""),
                "step": _step_text(step),
                "waiting": figure.waiting if figure else 0,
                "passed": figure.passed if figure else 0,
                "converted": figure.converted if figure else 0,
            }
        )
    found = {
        "id": sequence.pk,
        "name": sequence.name,
        "status": sequence.status,
        "trigger": sequence.trigger or {},
        "enrolled": figures.enrolled,
        "by_status": dict(figures.by_status),
        "steps": steps,
    }
    if options.json:
        _print_json(found)
        return 0
    print(f"{sequence.name} (id {sequence.pk}): {sequence.get_status_display().lower()}")
    print(f"Trigger: {json.dumps(sequence.trigger or {})}")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(figures.by_status.items()))
    print(f"Enrolled: {figures.enrolled}" + (f" ({counts})" if counts else ""))
    if steps:
        _table(
            [[s["id"], s["step"], s["waiting"], s["passed"], s["converted"]] for s in steps],
            ["step", "does", "waiting", "passed", "converted"],
        )
    else:
        print("No steps yet.")
    return 0


def _status_set(options: argparse.Namespace, status: str) -> int:
    from leadflow.nurture.services.sequences import sequence_status_set

    workspace = workspace_by_slug(options.workspace)
    sequence = sequence_status_set(
        workspace=workspace, actor=_actor(), sequence_id=options.sequence, status=status
    )
    print(f"“{sequence.name}” is {sequence.get_status_display().lower()}.")
    return 0


def cmd_sequence_pause(options: argparse.Namespace) -> int:
    """Pause a sequence: no one is enrolled or moved; everyone stays on their step and goes
    on when it is resumed."""
    return _status_set(options, "paused")


def cmd_sequence_resume(options: argparse.Namespace) -> int:
    """Activate a sequence (paused or draft; it needs a step): it enrols by its trigger and
    moves its enrolments again."""
    return _status_set(options, "active")


def cmd_sequence_enrol(options: argparse.Namespace) -> int:
    """Enrol contacts in an active sequence, as the sequence page does: by id (--contact),
    by email (--email) or every member of a segment (--segment); each as the sequence's
    re-entry rule allows (someone in it already, or once in it when it allows no re-entry,
    is passed over). An unknown email or id is an error and enrols no one."""
    from leadflow.contacts.models import Contact
    from leadflow.core.validation import email_normalise
    from leadflow.nurture.models import SegmentMember
    from leadflow.nurture.selectors.segments import segment_get
    from leadflow.nurture.selectors.sequences import sequence_get
    from leadflow.nurture.services.sequences import MAX_ENROL_BATCH, sequence_enroll

    workspace = workspace_by_slug(options.workspace)
    if not (options.contacts or options.emails or options.segment):
        raise CommandFailed("say whom to enrol: --contact, --email or --segment")
    sequence = sequence_get(workspace, options.sequence)
    ids: set[int] = set()
    errors: list[FieldError] = []
    if options.contacts:
        known = set(
            Contact.objects.filter(workspace=workspace, pk__in=options.contacts).values_list(
                "pk", flat=True
            )
        )
        missing = sorted(set(options.contacts) - known)
        if missing:
            errors.append(
                FieldError("contact", f"No such contact: {', '.join(map(str, missing))}.")
            )
        ids |= known
    if options.emails:
        addresses = {email_normalise(text, field="email") for text in options.emails}
        found = dict(
            Contact.objects.filter(workspace=workspace, email__in=addresses).values_list(
                "email", "pk"
            )
        )
        missing_addresses = sorted(addresses - set(found))
        if missing_addresses:
            errors.append(
                FieldError("email", f"No contact has the address {', '.join(missing_addresses)}.")
            )
        ids |= set(found.values())
    if options.segment:
        segment = segment_get(workspace, options.segment)
        ids |= set(
            SegmentMember.objects.filter(workspace=workspace, segment_id=segment.pk).values_list(
                "contact_id", flat=True
            )
        )
    if errors:
        raise ValidationFailed(errors)
    ordered = sorted(ids)
    enrolled: list[int] = []
    for start in range(0, max(len(ordered), 1), MAX_ENROL_BATCH):
        enrolled += sequence_enroll(
            workspace=workspace,
            actor=_actor(),
            sequence_id=sequence.pk,
            contact_ids=ordered[start : start + MAX_ENROL_BATCH],
            source="manual",
        )
    passed = len(ordered) - len(enrolled)
    print(
        f"Enrolled {len(enrolled)} of {len(ordered)} contacts in “{sequence.name}”"
        + (f" ({passed} in it already or not allowed back)." if passed else ".")
    )
    return 0


def cmd_enrollment_remove(options: argparse.Namespace) -> int:
    """Take one enrolment out of its sequence (nothing more is sent from it); the reason
    is kept with the enrolment."""
    from leadflow.nurture.services.sequences import enrollment_remove

    workspace = workspace_by_slug(options.workspace)
    enrollment = enrollment_remove(
        workspace=workspace,
        actor=_actor(),
        enrollment_id=options.enrollment,
        reason=options.reason[:200],
    )
    print(f"Enrolment {enrollment.pk} removed from “{enrollment.sequence.name}”.")
    return 0


# --- broadcasts -----------------------------------------------------------------------------


def _broadcast_figures(workspace, broadcast) -> dict[str, Any]:
    from leadflow.nurture.selectors.broadcasts import group_sizes
    from leadflow.nurture.selectors.tracking import messages_engagement

    variants = list(broadcast.variants.select_related("message__template"))
    counts = messages_engagement(workspace, [variant.message_id for variant in variants])
    groups = group_sizes(broadcast)
    return {
        "id": broadcast.pk,
        "name": broadcast.name,
        "status": broadcast.status,
        "segment": broadcast.segment.name,
        "send_at": broadcast.send_at.isoformat() if broadcast.send_at else None,
        "ab_test": broadcast.ab_test,
        "audience": broadcast.audience,
        "winner": broadcast.winner.label if broadcast.winner else None,
        "decision": broadcast.decision,
        "variants": [
            {
                "label": variant.label,
                "subject": variant.message.subject or variant.message.template.subject,
                "test_group": groups.get(variant.label, 0),
                "sent": counts[variant.message_id].sent,
                "opened": counts[variant.message_id].opened,
                "clicked": counts[variant.message_id].clicked,
                "clicks": counts[variant.message_id].clicks,
            }
            for variant in variants
        ],
    }


def cmd_broadcasts_list(options: argparse.Namespace) -> int:
    """The workspace's broadcasts, newest first: status, segment, when, sent and unique
    clicks (all variants together) and the A/B test's winner."""
    from leadflow.nurture.selectors.broadcasts import broadcast_list

    workspace = workspace_by_slug(options.workspace)
    rows = []
    for broadcast in broadcast_list(workspace):
        found = _broadcast_figures(workspace, broadcast)
        rows.append(
            {
                key: found[key]
                for key in ("id", "name", "status", "segment", "send_at", "audience", "winner")
            }
            | {
                "sent": sum(variant["sent"] for variant in found["variants"]),
                "clicked": sum(variant["clicked"] for variant in found["variants"]),
            }
        )
    if options.json:
        _print_json(rows)
    elif not rows:
        print(f"'{workspace.slug}' has no broadcasts.")
    else:
        _table(
            [
                [r["id"], r["name"], r["status"], r["segment"], r["send_at"] or "-",
                 r["sent"], r["clicked"], r["winner"] or "-"]
                for r in rows
            ],
            ["id", "name", "status", "segment", "send at", "sent", "clicked", "winner"],
        )  # fmt: skip
    return 0


def cmd_broadcast_show(options: argparse.Namespace) -> int:
    """One broadcast: its status, audience and schedule, each variant's subject, test
    group, deliveries sent, emails opened and clicked (unique; scanners' filtered), and
    the A/B test's winner with the reason it was chosen."""
    from leadflow.nurture.selectors.broadcasts import broadcast_get

    workspace = workspace_by_slug(options.workspace)
    found = _broadcast_figures(workspace, broadcast_get(workspace, options.broadcast))
    if options.json:
        _print_json(found)
        return 0
    print(f"{found['name']} (id {found['id']}): {found['status']}, to “{found['segment']}”")
    print(f"Send at: {found['send_at'] or '-'}; audience: {found['audience']}")
    _table(
        [
            [v["label"], v["subject"], v["test_group"], v["sent"], v["opened"], v["clicked"]]
            for v in found["variants"]
        ],
        ["variant", "subject", "test group", "sent", "opened", "clicked"],
    )
    if found["ab_test"]:
        print(f"Winner: {found['winner'] or 'not decided yet'}")
    if found["decision"]:
        print(f"Decision: {found['decision']}")
    return 0


def cmd_broadcast_schedule(options: argparse.Namespace) -> int:
    """Schedule a draft (or move a scheduled) broadcast to --at; a time past is now."""
    from leadflow.nurture.services.broadcasts import broadcast_schedule

    workspace = workspace_by_slug(options.workspace)
    broadcast = broadcast_schedule(
        workspace=workspace, actor=_actor(), broadcast_id=options.broadcast, send_at=options.at
    )
    print(f"“{broadcast.name}” is scheduled for {broadcast.send_at.isoformat()}.")
    return 0


def cmd_broadcast_send(options: argparse.Namespace) -> int:
    """Send a draft or scheduled broadcast now: the worker starts it at once (or run
    `leadflow nurture run --once`)."""
    from django.utils import timezone

    from leadflow.nurture.services.broadcasts import broadcast_schedule

    workspace = workspace_by_slug(options.workspace)
    broadcast = broadcast_schedule(
        workspace=workspace, actor=_actor(), broadcast_id=options.broadcast, send_at=timezone.now()
    )
    print(f"“{broadcast.name}” is sending now.")
    return 0


def cmd_broadcast_cancel(options: argparse.Namespace) -> int:
    """Cancel a broadcast: what is still queued is skipped and an A/B test's rest never get
    the winner; what was sent stays sent."""
    from leadflow.nurture.services.broadcasts import broadcast_cancel

    workspace = workspace_by_slug(options.workspace)
    broadcast = broadcast_cancel(
        workspace=workspace, actor=_actor(), broadcast_id=options.broadcast
    )
    print(f"“{broadcast.name}” is cancelled.")
    return 0


# --- the run --------------------------------------------------------------------------------


def cmd_run(options: argparse.Namespace) -> int:
    """One pass of what the worker does for nurture, for every workspace: start the
    broadcasts whose time came and decide the A/B tests whose test time is up, move the
    sequences' enrolments that are due (one batch), then send every message's queued
    deliveries (through the same leases as the worker: a worker running beside it never
    sends an email twice). Prints what it did."""
    from leadflow.nurture.models import Delivery, DeliveryStatus
    from leadflow.nurture.services.broadcasts import broadcasts_due
    from leadflow.nurture.services.sending import message_deliver_run
    from leadflow.nurture.services.sequence_runner import sequences_run

    stepped = broadcasts_due()
    moved = sequences_run()
    message_ids = sorted(
        set(
            Delivery.objects.filter(status=DeliveryStatus.QUEUED)
            .values_list("message_id", flat=True)
            .distinct()
        )
    )
    totals = {"sent": 0, "skipped": 0, "failed": 0, "unknown": 0, "released": 0}
    for message_pk in message_ids:
        result = message_deliver_run(message_pk=message_pk)
        for name in totals:
            totals[name] += getattr(result, name)
    print(f"Broadcasts started or decided: {stepped}.")
    print(f"Sequence enrolments moved: {moved.moved} (of {moved.claimed} due).")
    print(
        f"Deliveries of {len(message_ids)} messages: "
        + ", ".join(f"{number} {name}" for name, number in totals.items())
        + "."
    )
    return 0


# --- unknown deliveries ---------------------------------------------------------------------


def cmd_deliveries_unknown(options: argparse.Namespace) -> int:
    """The workspace's deliveries in the "unknown" state, oldest first: a worker stopped
    between handing them to the mail server and recording it, so they may or may not have
    gone. Check the mail server's log, then resolve each (re-queue or drop)."""
    from leadflow.nurture.selectors.email import deliveries_unknown

    workspace = workspace_by_slug(options.workspace)
    rows = [
        {
            "id": delivery.pk,
            "message": delivery.message.name,
            "contact_id": delivery.contact_id,
            "address": delivery.address or delivery.contact.email or "",
            "message_id_header": delivery.header_message_id,
            "handed_at": delivery.handed_at.isoformat() if delivery.handed_at else None,
        }
        for delivery in deliveries_unknown(workspace)
    ]
    if options.json:
        _print_json(rows)
    elif not rows:
        print("No delivery is in the unknown state.")
    else:
        _table(
            [[r["id"], r["message"], r["address"], r["handed_at"] or "-",
              r["message_id_header"]] for r in rows],
            ["id", "message", "address", "handed at", "Message-ID"],
        )  # fmt: skip
    return 0


def cmd_deliveries_resolve(options: argparse.Namespace) -> int:
    """Resolve unknown deliveries: --requeue sends them again (with the same Message-ID,
    so the receiving side can tell a repeat) or --drop never sends them (the mail server's
    log showed they went, or they should not). Only this workspace's unknown deliveries
    change; any other id given is an error and nothing changes."""
    from leadflow.nurture.models import Delivery, DeliveryStatus
    from leadflow.nurture.services.sending import delivery_review

    workspace = workspace_by_slug(options.workspace)
    wanted = sorted(set(options.deliveries))
    unknown = set(
        Delivery.objects.filter(
            workspace=workspace, pk__in=wanted, status=DeliveryStatus.UNKNOWN
        ).values_list("pk", flat=True)
    )
    others = [pk for pk in wanted if pk not in unknown]
    if others:
        raise NotFound(
            f"Not an unknown delivery of '{workspace.slug}': {', '.join(map(str, others))}."
        )
    changed = delivery_review(workspace=workspace, delivery_ids=wanted, decision=options.decision)
    done = "re-queued" if options.decision == "requeue" else "dropped"
    print(f"{changed} deliveries {done}.")
    return 0
