"""A contact's activities as people read them: what happened, who did it, what changed.

Each kind's own text comes from the app that registered it (``contacts.activity_kinds``);
this module adds what any kind may carry (``changes`` as {field: [old, new]}, tags, a kept
stage) and any other payload key generically, turns ids into names, and places the contact's
tracked visits among them by time. Every piece is plain text, escaped by the template.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pycountry

from leadflow.contacts.activity_kinds import Change, activity_kind_summarise
from leadflow.contacts.models import Activity, CustomField
from leadflow.contacts.selectors import TimelineItem
from leadflow.tracking.models import Channel, VisitSession
from leadflow.web.forms import CHOICE_LABELS, FIELD_LABELS

EMPTY = "—"


@dataclass
class TimelineEntry:
    activity: Activity
    label: str
    actor: str
    changes: list[Change] = field(default_factory=list)
    body: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.activity.kind

    @property
    def occurred_at(self):
        return self.activity.occurred_at


class Names:
    """Readable names for ids found in activity data (owners, companies, custom fields)."""

    def __init__(
        self,
        users: Mapping[int, str],
        companies: Mapping[int, str],
        custom_fields: Iterable[CustomField],
    ):
        self.users = users
        self.companies = companies
        self.custom_labels = {definition.key: definition.label for definition in custom_fields}

    def field(self, name: str) -> str:
        if name.startswith("custom_fields."):
            key = name.removeprefix("custom_fields.")
            return self.custom_labels.get(key, key)
        return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())

    def value(self, name: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return EMPTY
        if name == "owner_id" or name in ("owner", "from_owner"):
            return self.users.get(_as_int(value), f"user #{value}")
        if name == "company_id":
            return self.companies.get(_as_int(value), f"company #{value}")
        if name in CHOICE_LABELS:
            return str(CHOICE_LABELS[name].get(value, value))
        if name == "country" and isinstance(value, str):
            country = pycountry.countries.get(alpha_2=value)
            return f"{country.name} ({value})" if country else value
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        if isinstance(value, dict):
            return ", ".join(f"{key}: {item}" for key, item in value.items())
        return str(value)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def referenced_company_ids(activities: Iterable[Activity]) -> set[int]:
    """Company ids named in changes, so their names load in one query."""
    ids: set[int] = set()
    for activity in activities:
        data = activity.data if isinstance(activity.data, dict) else {}
        for pair in (data.get("changes") or {}).get("company_id", []) or []:
            if _as_int(pair) is not None:
                ids.add(_as_int(pair))
    return ids


def timeline_entries(activities: Iterable[Activity], names: Names) -> list[TimelineEntry]:
    return [_entry(activity, names) for activity in activities]


def _entry(activity: Activity, names: Names) -> TimelineEntry:
    """One activity in words: the summary its kind registered (see contacts.activity_kinds),
    then what every kind may carry (changes, tags, a kept stage), then any other payload key
    as "field: value", so an unknown kind or a new key still shows, as plain text."""
    data = activity.data if isinstance(activity.data, dict) else {}
    actor = (
        activity.actor_user.display_name
        if activity.actor_user_id and activity.actor_user
        else activity.actor_label or "system"
    )
    text, told = activity_kind_summarise(activity.kind, data, names)
    entry = TimelineEntry(activity=activity, label=text.label, actor=actor, body=text.body)
    shown = {"bulk", "direction", *told}
    changes = data.get("changes")
    if isinstance(changes, dict):
        shown.add("changes")
        for name, pair in changes.items():
            old, new = ([*list(pair), None, None])[:2] if isinstance(pair, list) else (None, pair)
            entry.changes.append(
                Change(names.field(name), names.value(name, old), names.value(name, new))
            )
    entry.changes.extend(text.changes)
    kept = data.get("stage_kept")
    if isinstance(kept, dict):
        shown.add("stage_kept")
        entry.details.append(
            f"Stage kept at {names.value('lifecycle_stage', kept.get('kept'))}: "
            f"{names.value('lifecycle_stage', kept.get('requested'))} was asked for, and new "
            "submissions only move a contact forward"
        )
    entry.details.extend(text.details)
    for key, label in (
        ("tags", "Tags"),
        ("tags_added", "Tags added"),
        ("tags_removed", "Tags removed"),
        ("tag", "Tag"),
    ):
        if key in data:
            shown.add(key)
            entry.details.append(f"{label}: {names.value(key, data[key])}")
    for key, value in data.items():
        if key not in shown:
            entry.details.append(f"{names.field(key)}: {names.value(key, value)}")
    if data.get("bulk"):
        entry.details.append("(bulk action)")
    return entry


# --- visits ------------------------------------------------------------------------------------

PAGES_SHOWN = 20
NO_SOURCE = {"", "(direct)", "(none)"}


@dataclass
class VisitEntry:
    """A tracked visit placed among the activities by the time it started. Its URLs,
    referrer and tags came from a browser: plain text, escaped by the template."""

    session: VisitSession
    label: str
    before_identification: bool
    pages: list[str] = field(default_factory=list)
    more_pages: int = 0
    details: list[str] = field(default_factory=list)
    kind = "visit"
    actor = ""
    body = ""
    changes: tuple = ()

    @property
    def occurred_at(self):
        return self.session.started_at


def source_medium(source: str, medium: str) -> str:
    """Source and medium as "google / cpc", without the placeholders of a direct visit
    ("(direct)", "(none)")."""
    return " / ".join(part for part in (source, medium) if part not in NO_SOURCE)


def visit_label(session: VisitSession) -> str:
    """The visit in words, such as "Visited 3 pages from google / cpc (Paid search)"; a
    direct visit names no source."""
    count = session.pageviews
    pages = f"{count} page{'' if count == 1 else 's'}" if count else "the site"
    channel = Channel(session.channel).label if session.channel in Channel.values else "Other"
    origin = source_medium(session.source, session.medium)
    return f"Visited {pages}{f' from {origin}' if origin else ''} ({channel})"


def visit_entries(items: Iterable[TimelineItem]) -> list[VisitEntry]:
    """Timeline entries for the visits among other apps' timeline items (tracking's), each
    marked when it started before the contact was identified."""
    entries = []
    for item in items:
        if item.kind != "visit":
            continue
        session, urls = item.source, item.data["pages"]
        entry = VisitEntry(
            session=session,
            label=visit_label(session),
            before_identification=item.data["before_identification"],
            pages=urls[:PAGES_SHOWN],
            more_pages=max(len(urls) - PAGES_SHOWN, 0),
        )
        if session.campaign:
            entry.details.append(f"Campaign: {session.campaign}")
        if session.landing_page and not urls:
            entry.details.append(f"Landing page: {session.landing_page}")
        if session.referrer:
            entry.details.append(f"Referrer: {session.referrer}")
        entries.append(entry)
    return entries


def interleave(*entry_lists: Iterable[Any]) -> list[Any]:
    """Entries of every kind, newest first (activities before visits at the same moment)."""
    merged = [entry for entries in entry_lists for entry in entries]
    return sorted(merged, key=lambda entry: entry.occurred_at, reverse=True)


@dataclass(frozen=True)
class Touch:
    name: str
    label: str
    source: str
    medium: str
    campaign: str
    channel: str

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label if self.channel in Channel.values else self.channel

    @property
    def origin(self) -> str:
        return source_medium(self.source, self.medium)


def touches(contact: Any) -> list[Touch]:
    """The contact's first and last touch: where it first came from and most recently."""
    return [
        Touch(
            name=name,
            label=label,
            source=getattr(contact, f"{name}_touch_source"),
            medium=getattr(contact, f"{name}_touch_medium"),
            campaign=getattr(contact, f"{name}_touch_campaign"),
            channel=getattr(contact, f"{name}_touch_channel"),
        )
        for name, label in (("first", "First touch"), ("last", "Last touch"))
    ]
