"""Reads for pop-ups: the app's list, and what the pop-up script of a page is told.

``popups_for_visit`` answers the one configuration request of a page: the workspace's
active pop-ups (kept a few seconds per process, core.cache) with the rules only the
server can judge already applied — the visit's source, UTM tags and channel, and for an
identified visitor the contact conditions (one query for the visitor's contact and one for
all the pop-ups' conditions together, and none at all when no active pop-up looks at
contacts).
The rules of the page itself (address, device, new or returning visitor, triggers,
frequency) go to the browser, which alone knows them.
"""

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.templatetags.static import static

from leadflow.capture.popups.models import Popup, PopupStatus
from leadflow.capture.popups.rules import any_glob
from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
from leadflow.contacts.models import Contact
from leadflow.core.cache import cached
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.tracking.channels import classify, workspace_rules


def popup_list(workspace: Workspace) -> QuerySet[Popup]:
    return (
        Popup.objects.filter(workspace=workspace)
        .select_related("form")
        .order_by("-created_at", "-id")
    )


def popup_get(workspace: Workspace, popup_id: int) -> Popup:
    popup = Popup.objects.filter(workspace=workspace, pk=popup_id).select_related("form").first()
    if popup is None:
        raise NotFound("No such pop-up.")
    return popup


@dataclass(frozen=True)
class ActivePopup:
    """An active pop-up as the public side needs it: what the browser gets, and the rules
    the server checks before sending it."""

    id: int
    client: dict[str, Any]
    utm: dict[str, list[str]]
    channels: tuple[str, ...]
    audience: str
    conditions: dict | None

    @property
    def needs_contact(self) -> bool:
        return self.audience != "everyone" or self.conditions is not None


def _active(workspace_id: int) -> list[ActivePopup]:
    rows = (
        Popup.objects.filter(workspace_id=workspace_id, status=PopupStatus.ACTIVE)
        .select_related("form")
        .order_by("id")
    )
    found = []
    for popup in rows:
        targeting = popup.targeting
        form_key = popup.form.key if popup.form and popup.form.status == "active" else ""
        if popup.content == "form" and not form_key:
            continue  # its form is gone or disabled: nothing to show
        client = {
            "id": popup.pk,
            "style": popup.style,
            "content": popup.content,
            "title": popup.title,
            "body": popup.body,
            "form": form_key,
            "link_url": popup.link_url,
            "link_label": popup.link_label,
            "mobile_full": popup.mobile_full,
            "triggers": popup.triggers,
            "include": targeting.get("include", []),
            "exclude": targeting.get("exclude", []),
            "devices": targeting.get("devices", []),
            "visitors": targeting.get("visitors", "all"),
            "frequency": popup.frequency,
        }
        found.append(
            ActivePopup(
                id=popup.pk,
                client=client,
                utm={
                    key: targeting.get(key, [])
                    for key in ("utm_source", "utm_medium", "utm_campaign")
                    if targeting.get(key)
                },
                channels=tuple(targeting.get("channels", [])),
                audience=targeting.get("audience", "everyone"),
                conditions=targeting.get("conditions"),
            )
        )
    return found


def popups_active(workspace_id: int) -> list[ActivePopup]:
    """The workspace's active pop-ups, kept a few seconds per process."""
    return cached("popups-active", workspace_id, lambda: _active(workspace_id))


def tracker_popups_hook(workspace: Workspace) -> dict:
    """What lf.js is told (TRACKER_CONFIG_HOOKS): the pop-up script among the scripts to
    load, its address relative to LeadFlow's, only while the workspace has an active pop-up;
    otherwise nothing, and the tracker loads nothing more for pop-ups."""
    if not popups_active(workspace.pk):
        return {}
    return {"scripts": [f"{static('leadflow/popups.js')}?k={workspace.public_key}"]}


@dataclass(frozen=True)
class Visit:
    """Where the visit came from, as the pop-up script saw it on the visit's first page."""

    visitor_key: str = ""
    utm: dict[str, str] | None = None
    click_ids: tuple[str, ...] = ()
    referrer: str = ""
    site: str = ""


def _condition(workspace: Workspace, popup: ActivePopup) -> Q | None:
    """The pop-up's conditions as one ``Q`` on Contact, compiled once per cache interval;
    None when they no longer compile (a custom field or segment they name was deleted):
    the pop-up is then not shown to identified visitors until a member fixes it."""

    def compile_() -> tuple[Q | None]:
        try:
            tree = tree_from_json(popup.conditions)
            return (conditions_compile(tree, ConditionContext(workspace)),)
        except ValidationFailed:
            return (None,)

    return cached("popup-conditions", (popup.id, repr(popup.conditions)), compile_)[0]


def _matching(workspace: Workspace, contact_id: int, popups: list[ActivePopup]) -> set[int]:
    """The ids of the pop-ups (with conditions) whose conditions the contact matches: one
    query for all of them, a boolean column per pop-up."""
    columns = {}
    for popup in popups:
        condition = _condition(workspace, popup)
        if condition is not None:
            columns[f"p{popup.id}"] = Case(
                When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
            )
    if not columns:
        return set()
    row = (
        Contact.objects.filter(workspace=workspace, pk=contact_id)
        .annotate(**columns)
        .values(*columns)
        .first()
    )
    return {int(name[1:]) for name, matched in (row or {}).items() if matched}


def visitor_contact_id(workspace_id: int, visitor_key: str) -> int | None:
    """The contact of a visitor id, or None. Plain SQL on the unique (workspace, key) index:
    building the ORM query cost more than running it, on the hottest public read."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_id FROM tracking_visitor WHERE workspace_id = %s AND visitor_key = %s",
            [workspace_id, visitor_key],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def popups_for_visit(workspace: Workspace, visit: Visit) -> list[dict[str, Any]]:
    """The pop-ups this visit may see (in id order), as the browser gets them."""
    active = popups_active(workspace.pk)
    if not active:
        return []
    utm = {key: value.lower() for key, value in (visit.utm or {}).items()}
    channel = None
    contact_id: int | None = None
    if visit.visitor_key and any(popup.needs_contact for popup in active):
        contact_id = visitor_contact_id(workspace.pk, visit.visitor_key)
    matching: set[int] = set()
    if contact_id is not None:
        judged = [popup for popup in active if popup.conditions is not None]
        matching = _matching(workspace, contact_id, judged) if judged else set()
    shown = []
    for popup in active:
        if any(not any_glob(patterns, utm.get(key, "")) for key, patterns in popup.utm.items()):
            continue
        if popup.channels:
            if channel is None:
                channel = classify(
                    utm=utm,
                    click_ids=dict.fromkeys(visit.click_ids, "1"),
                    referrer=visit.referrer,
                    landing_page=visit.site,
                    workspace_rules=workspace_rules(workspace.pk),
                ).channel
            if channel not in popup.channels:
                continue
        if contact_id is None:
            if popup.audience == "known":
                continue
        elif popup.audience == "anonymous" or (
            popup.conditions is not None and popup.id not in matching
        ):
            continue
        shown.append(popup.client)
    return shown
