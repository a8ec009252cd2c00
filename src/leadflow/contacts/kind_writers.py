"""Typed writers: one function per activity kind owns that kind's payload.

Whoever writes ``contact.created``, ``form.submitted``, ``stage.changed``,
``owner.changed``, ``consent.changed``, ``tag.added``/``tag.removed``, ``note.added`` or
``contact.updated`` (the ORM services, bulk actions, the PostgreSQL fast path's SQL, the
import writer, the demo builder) builds the data with the function here, so a kind has one
shape wherever it comes from. The fields each writes are
the ``payload_fields`` registered for the kind (``contacts.kinds``). Pure functions: no
database, so SQL and bulk writers use them as well as the services.
"""

from collections.abc import Iterable, Mapping
from typing import Any

# form.submitted, in the order its keys are written. The capture group (form_id ..
# utm) describes a form of this workspace and the page it was on; the lead source group
# (lead_source_id .. test_lead) an ad network's lead form pushed through a lead source.
# ``values`` are the answers as given. An ad network's attribution (ad_id, adset_id,
# campaign, gclid, a generic source's own keys...) comes first, under its own names, and
# never replaces one of these keys.
FORM_SUBMITTED_FIELDS = (
    "form_id",
    "form",
    "submission_id",
    "page_url",
    "referrer",
    "utm",
    "lead_source_id",
    "lead_source",
    "delivery_id",
    "lead_id",
    "test_lead",
    "values",
    "released_by",
)
CONTACT_CREATED_FIELDS = ("tags",)
STAGE_CHANGED_FIELDS = ("from", "to", "direction", "reason", "bulk")
OWNER_CHANGED_FIELDS = ("from", "to", "bulk")
CONSENT_CHANGED_FIELDS = ("from", "to", "purpose", "source")
TAG_FIELDS = ("tag", "bulk")
NOTE_ADDED_FIELDS = ("body", "import_job", "mentions")
CONTACT_UPDATED_FIELDS = ("changes", "tags_added", "tags_removed")


def form_submitted_data(
    *,
    form: str,
    values: Mapping[str, Any],
    form_id: int | None = None,
    submission_id: str = "",
    page_url: str = "",
    referrer: str = "",
    utm: Mapping[str, str] | None = None,
    lead_source_id: int | None = None,
    lead_source: str = "",
    delivery_id: int | None = None,
    lead_id: str | None = None,
    test_lead: bool = False,
    attribution: Mapping[str, Any] | None = None,
    released_by: str = "",
) -> dict[str, Any]:
    """The payload of ``form.submitted``: a lead filled ``form`` (its name as the timeline
    shows it) with ``values``. A form of this workspace gives ``form_id`` and writes the
    whole capture group (page, referrer and UTM, empty when unknown); a lead source gives
    ``lead_source_id`` and writes the whole lead source group. ``released_by`` names the
    member who released a held submission."""
    data: dict[str, Any] = dict(attribution or {})
    if form_id is not None:
        data.update(
            form_id=form_id,
            form=form,
            submission_id=str(submission_id),
            page_url=page_url[:2000],
            referrer=referrer[:2000],
            utm=dict(utm or {}),
        )
    else:
        data["form"] = form
    if lead_source_id is not None:
        data.update(
            lead_source_id=lead_source_id,
            lead_source=lead_source,
            delivery_id=delivery_id,
            lead_id=lead_id,
        )
        if test_lead:
            data["test_lead"] = True
    data["values"] = dict(values)
    if released_by:
        data["released_by"] = released_by
    return data


def contact_created_data(*, tags: Iterable[str] = ()) -> dict[str, Any]:
    """The payload of ``contact.created``: the tags the new contact got, when any."""
    tags = list(tags)
    return {"tags": tags} if tags else {}


def stage_changed_data(
    *, before: str, after: str, reason: str = "", direction: str = "", bulk: bool = False
) -> dict[str, Any]:
    """The payload of ``stage.changed``: from, to, and either why a new submission moved
    it forward (``reason``: "form Contact us") or which way a member moved it
    (``direction``, see ``LifecycleStage.direction``); ``bulk`` when a bulk action did."""
    data: dict[str, Any] = {"from": before, "to": after}
    if direction:
        data["direction"] = direction
    if reason:
        data["reason"] = reason
    return _bulk(data, bulk)


def owner_changed_data(
    *, before: int | None, after: int | None, bulk: bool = False
) -> dict[str, Any]:
    """The payload of ``owner.changed``: the member ids from and to (None: nobody)."""
    return _bulk({"from": before, "to": after}, bulk)


def consent_changed_data(
    *, before: str, after: str, purpose: str = "marketing_email", source: str = ""
) -> dict[str, Any]:
    """The payload of ``consent.changed``: the status of one consent purpose from and to,
    and where the change came from (the ledger row's source)."""
    return {"from": before, "to": after, "purpose": purpose, "source": source}


def tag_data(*, tag: str, bulk: bool = False) -> dict[str, Any]:
    """The payload of ``tag.added`` and ``tag.removed``: the tag's name."""
    return _bulk({"tag": tag}, bulk)


def note_added_data(
    *, body: str, import_job: int | None = None, mentions: list[int] | None = None
) -> dict[str, Any]:
    """The payload of ``note.added``: its text, the user ids of the members it mentions
    (when any), and the import that brought it, if any."""
    data: dict[str, Any] = {"body": body}
    if mentions:
        data["mentions"] = mentions
    if import_job is not None:
        data["import_job"] = import_job
    return data


def contact_updated_data(
    *, changes: Mapping[str, list], tag_changes: Mapping[str, list] | None = None
) -> dict[str, Any]:
    """The payload of ``contact.updated``: ``{field: [old, new]}`` (values JSON can hold),
    and the tags added and removed by the same edit."""
    return {"changes": dict(changes), **(tag_changes or {})}


def _bulk(data: dict[str, Any], bulk: bool) -> dict[str, Any]:
    if bulk:
        data["bulk"] = True
    return data
