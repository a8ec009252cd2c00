"""Reading sequences: the list with each one's figures, one sequence's per-step counts
(who waits where, who passed, how many of those met the goal) and its enrolments. Each is
a fixed number of grouped queries, whatever the number of contacts."""

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.nurture.models.bounces import Reply
from leadflow.nurture.models.sequences import (
    Enrollment,
    EnrollmentStatus,
    EnrollmentStep,
    Sequence,
    SequenceStatus,
)

STATUS_FILTERS = {status: Q(status=status) for status in EnrollmentStatus.values}


@dataclass
class StepFigures:
    waiting: int = 0  # active enrolments standing on the step now
    passed: int = 0  # enrolments that went through it
    converted: int = 0  # of those, how many met the goal
    outcomes: dict[str, int] = field(default_factory=dict)  # yes/no, activity/timeout
    replied: int | None = None  # an email step: the people who replied to its email

    @property
    def conversion_rate(self) -> float | None:
        return round(self.converted / self.passed, 4) if self.passed else None


@dataclass
class SequenceFigures:
    enrolled: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    steps: dict[int, StepFigures] = field(default_factory=dict)

    @property
    def active(self) -> int:
        return self.by_status.get(EnrollmentStatus.ACTIVE, 0)

    @property
    def converted(self) -> int:
        return self.by_status.get(EnrollmentStatus.CONVERTED, 0)

    @property
    def conversion_rate(self) -> float | None:
        return round(self.converted / self.enrolled, 4) if self.enrolled else None


def sequence_list(workspace: Workspace, *, archived: bool = False) -> QuerySet[Sequence]:
    """The workspace's sequences by name, each with ``enrolled``, ``in_sequence`` and
    ``converted`` counted (one query)."""
    queryset = Sequence.objects.filter(workspace=workspace)
    if not archived:
        queryset = queryset.exclude(status=SequenceStatus.ARCHIVED)
    counts = {
        row["sequence_id"]: row
        for row in Enrollment.objects.filter(workspace=workspace)
        .values("sequence_id")
        .annotate(
            enrolled=Count("pk"),
            in_sequence=Count("pk", filter=Q(status=EnrollmentStatus.ACTIVE)),
            converted=Count("pk", filter=Q(status=EnrollmentStatus.CONVERTED)),
        )
    }
    sequences = list(queryset.order_by("name"))
    for sequence in sequences:
        row = counts.get(sequence.pk, {})
        sequence.enrolled = row.get("enrolled", 0)
        sequence.in_sequence = row.get("in_sequence", 0)
        sequence.converted = row.get("converted", 0)
    return sequences


def list_figures(sequence: Sequence) -> SequenceFigures:
    """The figures ``sequence_list`` counted, as ``SequenceFigures`` (no step figures)."""
    figures = SequenceFigures(enrolled=getattr(sequence, "enrolled", 0))
    figures.by_status = {
        EnrollmentStatus.ACTIVE: getattr(sequence, "in_sequence", 0),
        EnrollmentStatus.CONVERTED: getattr(sequence, "converted", 0),
    }
    return figures


def active_sequences(workspace: Workspace) -> QuerySet[Sequence]:
    """The active sequences by name (lazy: read only when a page shows them)."""
    return Sequence.objects.filter(workspace=workspace, status=SequenceStatus.ACTIVE).order_by(
        "name"
    )


def sequence_get(workspace: Workspace, sequence_id: int) -> Sequence:
    sequence = Sequence.objects.filter(workspace=workspace, pk=sequence_id).first()
    if sequence is None:
        raise NotFound("No such sequence.")
    return sequence


def sequence_figures(sequence: Sequence) -> SequenceFigures:
    """Enrolments by status, and per step: waiting now, passed, converted, outcomes."""
    figures = SequenceFigures()
    for row in (
        Enrollment.objects.filter(sequence=sequence).values("status").annotate(n=Count("pk"))
    ):
        figures.by_status[row["status"]] = row["n"]
    figures.enrolled = sum(figures.by_status.values())
    for step in sequence.steps or []:
        figures.steps[step["id"]] = StepFigures()
    for row in (
        Enrollment.objects.filter(sequence=sequence, status=EnrollmentStatus.ACTIVE)
        .values("step")
        .annotate(n=Count("pk"))
    ):
        figures.steps.setdefault(row["step"], StepFigures()).waiting = row["n"]
    for row in (
        EnrollmentStep.objects.filter(sequence=sequence)
        .values("step", "outcome")
        .annotate(
            n=Count("pk"),
            converted=Count("pk", filter=Q(enrollment__status=EnrollmentStatus.CONVERTED)),
        )
    ):
        step = figures.steps.setdefault(row["step"], StepFigures())
        step.passed += row["n"]
        step.converted += row["converted"]
        if row["outcome"]:
            step.outcomes[row["outcome"]] = step.outcomes.get(row["outcome"], 0) + row["n"]
    _replies(sequence, figures)
    return figures


def _replies(sequence: Sequence, figures: SequenceFigures) -> None:
    """Per email step, the replies to its email (auto-replies not counted): one query."""
    sending = {
        step["id"]: step.get("message_id")
        for step in sequence.steps or []
        if step.get("type") == "email" and isinstance(step.get("message_id"), int)
    }
    if not sending:
        return
    counts = dict(
        Reply.objects.filter(
            workspace_id=sequence.workspace_id, message_id__in=set(sending.values()), auto=False
        )
        .values_list("message_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for step_id, message_id in sending.items():
        figures.steps.setdefault(step_id, StepFigures()).replied = counts.get(message_id, 0)


def enrollments_page(
    sequence: Sequence,
    *,
    status: str | None = None,
    step: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> tuple[list[Enrollment], int | None]:
    """The sequence's enrolments, newest first, optionally those in ``status`` or
    standing on ``step``; keyset pages (the next page's ``before_id``)."""
    queryset = Enrollment.objects.filter(sequence=sequence).select_related("contact")
    if status:
        queryset = queryset.filter(STATUS_FILTERS.get(status, Q(pk__in=[])))
    if step is not None:
        queryset = queryset.filter(step=step, status=EnrollmentStatus.ACTIVE)
    if before_id is not None:
        queryset = queryset.filter(pk__lt=before_id)
    rows = list(queryset.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].pk if more and rows else None)


def contact_enrollments(workspace: Workspace, contact_id: int) -> list[Enrollment]:
    """A contact's enrolments (the contact page's sequences), newest first."""
    return list(
        Enrollment.objects.filter(workspace=workspace, contact_id=contact_id)
        .select_related("sequence")
        .order_by("-pk")[:50]
    )
