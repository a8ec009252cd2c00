"""Reads for lead capture. Workspace first, except the public look-up by form key."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadflow.capture.models import (
    Form,
    Magnet,
    MagnetCode,
    MagnetGrant,
    NotificationLog,
    SeatStatus,
    Submission,
    SubmissionStatus,
)
from leadflow.contacts.selectors import contacts_visible
from leadflow.core.actors import Actor
from leadflow.core.cache import cached
from leadflow.core.errors import NotFound
from leadflow.core.models import Workspace
from leadflow.tracking.models import Event, EventType, Visitor


def form_by_key(key: str) -> Form | None:
    """The form behind a public key, with its workspace (public endpoints only).

    Kept in this process for a few seconds (core.cache): a busy form is read from the
    database once per interval, not once per submission.
    """
    if not key or len(key) > 40:
        return None
    return cached(
        "form", key, lambda: Form.objects.select_related("workspace").filter(key=key).first()
    )


def form_list(workspace: Workspace) -> QuerySet[Form]:
    return Form.objects.filter(workspace=workspace).order_by("-created_at", "-id")


def form_get(workspace: Workspace, form_id: int) -> Form:
    form = Form.objects.filter(workspace=workspace, pk=form_id).first()
    if form is None:
        raise NotFound("No such form.")
    return form


@dataclass
class FormStats:
    submissions: int
    spam: int
    last_7_days: int
    per_day_7d: float
    suspected: int = 0  # held back by a soft signal, waiting for a member to release them


def form_stats(workspace: Workspace, form_ids: list[int]) -> dict[int, FormStats]:
    """Submission, spam, suspected and recent counts per form in one grouped query."""
    since = timezone.now() - dt.timedelta(days=7)
    rows = (
        Submission.objects.filter(workspace=workspace, form_id__in=form_ids)
        .values("form_id")
        .annotate(
            accepted=Count("id", filter=Q(status=SubmissionStatus.ACCEPTED)),
            spam=Count("id", filter=Q(status=SubmissionStatus.SPAM)),
            suspected=Count("id", filter=Q(status=SubmissionStatus.SUSPECTED)),
            recent=Count("id", filter=Q(status=SubmissionStatus.ACCEPTED, created_at__gte=since)),
        )
    )
    stats = {form_id: FormStats(0, 0, 0, 0.0) for form_id in form_ids}
    for row in rows:
        stats[row["form_id"]] = FormStats(
            row["accepted"],
            row["spam"],
            row["recent"],
            round(row["recent"] / 7, 1),
            row["suspected"],
        )
    return stats


@dataclass
class FormViews:
    """What the tracker saw of a form over a period. ``views``: times it was shown on a
    page with lf.js; ``viewers``: distinct visitors it was shown to; ``converted``: those
    of them who then sent it (an accepted submission carrying their visitor id, at or
    after a view), a subset of ``viewers``. Submissions from pages without the tracker
    (the hosted page, an iframe or plain HTML form on a page without lf.js) have no view
    and count in none of these."""

    views: int = 0
    viewers: int = 0
    converted: int = 0

    @property
    def conversion_rate(self) -> float | None:
        """Converted viewers per viewer, in percent: never over 100; None without views
        by a known visitor."""
        return round(100 * self.converted / self.viewers, 1) if self.viewers else None


def _form_views(workspace: Workspace, keys, since: dt.datetime) -> QuerySet:
    """The form-view events of the forms named by ``keys`` (a list or a subquery) since
    ``since``, each with its visitor's key (to match the submissions they sent)."""
    return Event.objects.filter(
        workspace=workspace,
        event_type=EventType.FORM_VIEW,
        name__in=keys,
        occurred_at__gte=since,
    ).annotate(
        visitor_key=Subquery(
            Visitor.objects.filter(pk=OuterRef("visitor_id")).values("visitor_key")[:1]
        )
    )


def _view_counts(workspace: Workspace) -> dict:
    sent = Submission.objects.filter(
        workspace=workspace,
        form__key=OuterRef("name"),
        status=SubmissionStatus.ACCEPTED,
        visitor_id=OuterRef("visitor_key"),
        created_at__gte=OuterRef("occurred_at"),
    )
    return {
        "views": Count("id"),
        "viewers": Count("visitor_id", distinct=True),
        "converted": Count("visitor_id", distinct=True, filter=Exists(sent)),
    }


def form_view_conversions(
    workspace: Workspace, forms: list[Form], *, since: dt.datetime
) -> dict[int, FormViews]:
    """FormViews per form id since ``since``, in one grouped query over the form-view
    events (named by the form's key)."""
    rows = (
        _form_views(workspace, [form.key for form in forms], since)
        .values("name")
        .annotate(**_view_counts(workspace))
        .values_list("name", "views", "viewers", "converted")
    )
    by_key = {key: FormViews(views, viewers, converted) for key, views, viewers, converted in rows}
    return {form.pk: by_key.get(form.key, FormViews()) for form in forms}


@dataclass
class FormConversion:
    """One form's views and conversions over a period (``FormViews``), with its id and name."""

    form_id: int
    name: str
    views: FormViews


def form_conversions_top(
    workspace: Workspace, *, since: dt.datetime, limit: int = 5
) -> list[FormConversion]:
    """The workspace's forms the most visitors were shown since ``since`` (at most
    ``limit``), with their FormViews: one grouped query. A form nobody was shown is not
    listed."""
    forms = Form.objects.filter(workspace=workspace)
    same = forms.filter(key=OuterRef("name"))
    rows = (
        _form_views(workspace, forms.values("key"), since)
        .annotate(
            form_id=Subquery(same.values("pk")[:1]), form_name=Subquery(same.values("name")[:1])
        )
        .values("name", "form_id", "form_name")
        .annotate(**_view_counts(workspace))
        .order_by("-viewers", "form_name", "form_id")
        .values_list("form_id", "form_name", "views", "viewers", "converted")[:limit]
    )
    return [
        FormConversion(form_id, name, FormViews(views, viewers, converted))
        for form_id, name, views, viewers, converted in rows
    ]


def submissions_visible(workspace: Workspace, actor: Actor) -> QuerySet[Submission]:
    """Every submission the actor may see: all of the workspace, or, for a sales member who
    sees only own leads, those of the contacts they may open (``contacts_visible``). Held
    and spam submissions belong to no contact, so such a member sees none of them."""
    queryset = Submission.objects.filter(workspace=workspace)
    if actor.sees_only_own_leads:
        queryset = queryset.filter(contact_id__in=contacts_visible(workspace, actor).values("pk"))
    return queryset


def submission_list(
    workspace: Workspace, form_id: int, *, actor: Actor, status: str | None = None
) -> QuerySet[Submission]:
    """The form's submissions the actor may see (``submissions_visible``)."""
    form_get(workspace, form_id)
    queryset = submissions_visible(workspace, actor).filter(form_id=form_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.select_related("contact")


def submission_get(
    workspace: Workspace, form_id: int, submission_pk: int, *, actor: Actor
) -> Submission:
    """One submission the actor may see, else NotFound (another lead's answers 404)."""
    submission = (
        submissions_visible(workspace, actor)
        .select_related("contact")
        .filter(form_id=form_id, pk=submission_pk)
        .first()
    )
    if submission is None:
        raise NotFound("No such submission.")
    return submission


def submission_csv_rows(
    workspace: Workspace, form: Form, *, actor: Actor, status: str | None = "accepted"
):
    """Header, then one row per submission the actor may see (oldest first), in chunks."""
    names = [field["name"] for field in form.fields]
    yield [
        "submitted_at",
        "submission_id",
        "status",
        "contact_id",
        *names,
        "page_url",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "ip",
    ]
    queryset = submission_list(workspace, form.pk, actor=actor, status=status).order_by("id")
    for submission in queryset.iterator(chunk_size=2000):
        values = submission.values or submission.payload
        yield [
            submission.created_at.isoformat(),
            str(submission.submission_id),
            submission.status,
            submission.contact_id or "",
            *[values.get(name) for name in names],
            submission.page_url,
            submission.referrer,
            *[submission.utm.get(key, "") for key in ("utm_source", "utm_medium", "utm_campaign")],
            submission.ip or "",
        ]


def notified_contact_ids(workspace: Workspace, user_id: int) -> QuerySet:
    """The ids of the workspace's contacts this user was emailed about by a form (a
    subquery; registered in ``contacts.selectors.NOTIFIED_CONTACT_IDS``)."""
    return NotificationLog.objects.filter(
        submission__workspace=workspace, user_id=user_id, kind="notify"
    ).values("submission__contact_id")


# --- lead magnets ---------------------------------------------------------------------------


def magnet_by_key(key: str) -> Magnet | None:
    """The magnet behind a public key (public endpoints only)."""
    if not key or len(key) > 40:
        return None
    return Magnet.objects.filter(key=key).first()


def _count(queryset: QuerySet) -> Subquery:
    return Subquery(
        queryset.order_by().values("magnet").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )


def _sum_downloads() -> Subquery:
    return Subquery(
        MagnetGrant.objects.filter(magnet=OuterRef("pk"))
        .order_by()
        .values("magnet")
        .annotate(n=Sum("downloads"))
        .values("n")[:1],
        output_field=IntegerField(),
    )


def magnet_list(workspace: Workspace) -> QuerySet[Magnet]:
    """The workspace's magnets, newest first, each with its figures: ``granted`` (leads who
    earned it), ``delivered`` (emailed), ``downloaded`` (leads who opened it),
    ``downloads`` (every use), ``codes_left`` (free pool codes), ``waiting`` (the waiting
    list); seats taken is ``seats_taken``. One query whatever the number of magnets."""
    grants = MagnetGrant.objects.filter(magnet=OuterRef("pk"))
    return (
        Magnet.objects.filter(workspace=workspace)
        .annotate(
            granted=Coalesce(_count(grants), 0),
            delivered=Coalesce(_count(grants.filter(delivered_at__isnull=False)), 0),
            downloaded=Coalesce(_count(grants.filter(downloads__gt=0)), 0),
            downloads=Coalesce(_sum_downloads(), 0),
            codes_left=Coalesce(
                _count(MagnetCode.objects.filter(magnet=OuterRef("pk"), given_at__isnull=True)), 0
            ),
            waiting=Coalesce(_count(grants.filter(seat=SeatStatus.WAITING)), 0),
        )
        .order_by("-created_at", "-id")
    )


def magnet_get(workspace: Workspace, magnet_id: int) -> Magnet:
    """One magnet of the workspace with its figures (as ``magnet_list``); NotFound else."""
    magnet = magnet_list(workspace).filter(pk=magnet_id).first()
    if magnet is None:
        raise NotFound("No such magnet.")
    return magnet


def magnet_grants(workspace: Workspace, magnet: Magnet, *, seat: str | None = None):
    """A magnet's grants with their contacts, in arrival order (the waiting list's order)."""
    grants = MagnetGrant.objects.filter(workspace=workspace, magnet=magnet)
    if seat is not None:
        grants = grants.filter(seat=seat)
    return grants.select_related("contact").order_by("created_at", "pk")
