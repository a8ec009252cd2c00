"""The conditions marketing email's tracking adds to the condition language
(docs/conditions.md, docs/nurture/tracking.md), usable in segments:

- ``email.opened`` / ``email.clicked``: opened any marketing email / clicked a tracked link
  in one, at least (or at most) N times, within D days (``{"times": N, "within_days": D}``);
- ``email.opened.<message id>`` / ``email.clicked.<message id>``: the same for one message.

Only counted opens and clicks count (not a scanner's: ``nurture.tracking.scanner_reason``);
an email counts one open at most, a link one click in any de-duplication window. Each
compiles to one subquery on ``EmailEngagement`` grouped by contact (the partial index
``nurture_engagement_recent``), so a segment's tree stays one query.
"""

from collections.abc import Iterable

from django.db.models import Q

from leadflow.contacts.conditions import (
    ConditionContext,
    ConditionField,
    behaviour_compile,
    condition_family_register,
    condition_field_register,
)
from leadflow.nurture.models import EmailEngagement, EngagementKind, Message

KINDS = {"opened": EngagementKind.OPEN, "clicked": EngagementKind.CLICK}
LABELS = {"opened": "Opened", "clicked": "Clicked a link in"}


def _field(verb: str, message: Message | None) -> ConditionField:
    kind = KINDS[verb]
    message_id = message.pk if message is not None else None

    def compile_engagement(context: ConditionContext, operator: str, value: dict) -> Q:
        rows = EmailEngagement.objects.filter(
            workspace_id=context.workspace.pk, kind=kind, counted=True
        )
        if message_id is not None:
            rows = rows.filter(message_id=message_id)
        return behaviour_compile(rows, context, operator, value, time_column="occurred_at")

    what = f"the email {message.name}" if message is not None else "a marketing email"
    return ConditionField(
        key=f"email.{verb}" + (f".{message_id}" if message_id is not None else ""),
        type="behaviour",
        label=f"{LABELS[verb]} {what}" + (" (unreliable)" if verb == "opened" else ""),
        compile=compile_engagement,
    )


def _family(verb: str):
    def resolve(context: ConditionContext, rest: str) -> ConditionField | None:
        if not rest.isdigit() or len(rest) > 18:
            return None
        message = Message.objects.filter(workspace=context.workspace, pk=int(rest)).first()
        return _field(verb, message) if message is not None else None

    return resolve


def engagement_fields(
    context: ConditionContext, *, newest: int = 10, named: Iterable[str] = ()
) -> list[ConditionField]:
    """The per-message fields an editor offers (the generic two are registered): those of
    the newest messages and of any message a tree already names (``named``: its keys)."""
    wanted = {
        int(key.rsplit(".", 1)[1])
        for key in named
        if key.startswith(("email.opened.", "email.clicked."))
        and key.rsplit(".", 1)[1].isdigit()
        and len(key.rsplit(".", 1)[1]) <= 18
    }
    rows = Message.objects.filter(workspace=context.workspace)
    found = list(rows.order_by("-created_at", "-id")[:newest])
    known = {message.pk for message in found}
    found += list(rows.filter(pk__in=wanted - known).order_by("-created_at", "-id"))
    return [_field(verb, message) for message in found for verb in KINDS]


def register() -> None:
    condition_field_register(*(_field(verb, None) for verb in KINDS))
    for verb in KINDS:
        condition_family_register(f"email.{verb}.", _family(verb))
