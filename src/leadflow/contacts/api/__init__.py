"""REST endpoints for contacts, companies and custom fields (/api/v1).

Longer than the house's ~600 lines: one django-ninja router for the contacts product
(contacts, companies, custom fields, exports); its schemas sit next to their
routes.
"""

import datetime as dt
from collections import Counter
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ValidationError as PydanticValidationError
from pydantic import field_validator

from leadflow.contacts import selectors, services
from leadflow.contacts.conditions import Node, tree_from_json
from leadflow.contacts.exports import export_response
from leadflow.contacts.models import Activity, Company, Contact, CustomField
from leadflow.core.apikit import StrictSchema, json_response, require_scope
from leadflow.core.errors import DomainError, FieldError, ValidationFailed
from leadflow.core.idempotency import idempotent
from leadflow.core.models import ApiScope
from leadflow.core.validation import json_parse

router = Router()
READ, WRITE = ApiScope.CONTACTS_READ, ApiScope.CONTACTS_WRITE
SETTINGS_READ, SETTINGS_WRITE = ApiScope.SETTINGS_READ, ApiScope.SETTINGS_WRITE


# --- schemas -------------------------------------------------------------------------------


class CompanyRef(Schema):
    id: int
    name: str
    domain: str | None


class OwnerRef(Schema):
    id: int
    email: str


class ContactOut(Schema):
    id: int
    email: str | None
    phone: str | None
    first_name: str
    last_name: str
    job_title: str
    company: CompanyRef | None
    country: str
    street_address: str
    city: str
    region: str
    postal_code: str
    date_of_birth: dt.date | None
    owner: OwnerRef | None
    tags: list[str]
    lifecycle_stage: str
    temperature: str
    consent_status: str
    first_touch_source: str
    first_touch_medium: str
    first_touch_campaign: str
    last_touch_source: str
    last_touch_medium: str
    last_touch_campaign: str
    first_touch_channel: str
    last_touch_channel: str
    custom_fields: dict[str, Any]
    engagement_score: float = Field(description="Engagement points left after decay.")
    fit_grade: str = Field(description="A (best) to F; empty until graded.")
    conversion_probability: float | None = Field(
        description="0..1, from the workspace's trained model; null before one exists."
    )
    funnel_section: str = Field(description="top, middle, bottom, or empty.")
    outcome: str = Field(description="won, lost, or empty.")
    outcome_at: dt.datetime | None
    stage_changed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_tags(contact: Contact) -> list[str]:
        return [tag.name for tag in contact.tags.all()]


Stage = Literal[
    "subscriber", "lead", "mql", "sql", "opportunity", "customer", "nurture", "disqualified"
]
TemperatureValue = Literal["cold", "warm", "hot"]
Consent = Literal["unknown", "granted", "confirmed", "withdrawn"]


class ContactIn(StrictSchema):
    """Contact fields. On create, ``company`` (a name) links or creates a company when the
    email's domain does not already decide it; ``source``/``medium``/``campaign`` set the
    last touch (and the first touch when empty). ``postal_code`` is kept upper-case with
    single spaces; ``date_of_birth`` (YYYY-MM-DD) is not in the future nor before 1900."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    company: str | None = None
    company_id: int | None = None
    country: str | None = None
    street_address: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    date_of_birth: dt.date | None = None
    owner_id: int | None = None
    tags: list[str] | None = None
    lifecycle_stage: Stage | None = None
    temperature: TemperatureValue | None = None
    consent_status: Consent | None = None
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    channel: str | None = None
    custom_fields: dict[str, Any] | None = None

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def _blank_date_is_none(cls, value: Any) -> Any:
        """A blank date of birth clears it, as a blank email or phone does; a number is not
        read as a timestamp."""
        if isinstance(value, int | float):
            raise ValueError("Must be a date (YYYY-MM-DD).")
        return None if isinstance(value, str) and not value.strip() else value


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class MergeIn(StrictSchema):
    other_id: int = Field(description="The contact merged into this one, then deleted.")
    choices: dict[str, Literal["primary", "secondary"]] = Field(
        default_factory=dict,
        description="Per field, which side wins; otherwise the latest non-empty value wins.",
    )


class ActivityOut(Schema):
    id: int
    kind: str
    occurred_at: dt.datetime
    actor: str
    data: dict[str, Any]

    @staticmethod
    def resolve_actor(activity: Activity) -> str:
        return activity.actor_label


class TimelineEntryOut(Schema):
    id: int | None = Field(description="The activity's id; null for items kept by another app.")
    kind: str = Field(description="An activity kind, or 'visit' for a tracked visit.")
    occurred_at: dt.datetime
    actor: str
    data: dict[str, Any]


class ActivityPage(Schema):
    items: list[TimelineEntryOut]
    next_cursor: str | None


class NoteIn(StrictSchema):
    body: str
    mention_ids: list[int] | None = Field(
        None,
        description="Members to mention by user id (besides @email and @Full Name in the "
        "text); each is notified in the app and by email.",
    )


class CompanyOut(Schema):
    id: int
    name: str
    domain: str | None
    size: str
    industry: str
    country: str
    owner_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CompanyIn(StrictSchema):
    name: str | None = None
    domain: str | None = None
    size: str | None = None
    industry: str | None = None
    country: str | None = None
    owner_id: int | None = Field(
        None, description="The account owner: a member who may own leads (routing's strategy)."
    )


class CompanyPage(Schema):
    items: list[CompanyOut]
    next_cursor: str | None


FieldType = Literal["text", "number", "date", "boolean", "choice", "multi_choice"]
MatchTypeValue = Literal["exact", "digits", "fuzzy", ""]


class CustomFieldOut(Schema):
    id: int
    key: str
    label: str
    field_type: str
    choices: list[str]
    required: bool
    min_value: float | None
    max_value: float | None
    max_length: int | None
    pattern: str
    position: int
    identifying: bool = Field(
        description="Identifies a person (an id number, a customer number): the duplicate "
        "finder compares it"
    )
    match_type: str = Field(
        description="How an identifying field is compared: exact (the same value), digits "
        "(the same digits, ignoring spaces, dashes and letters) or fuzzy (similar text, typos "
        "allowed); empty unless identifying"
    )


class CustomFieldIn(StrictSchema):
    key: str | None = None
    label: str | None = None
    field_type: FieldType | None = None
    choices: list[str] | None = None
    required: bool | None = None
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    pattern: str | None = None
    position: int | None = None
    identifying: bool | None = Field(
        None, description="Only text and number fields; needs a match_type"
    )
    match_type: MatchTypeValue | None = Field(
        None,
        description="exact, digits or fuzzy; required when identifying, dropped when not",
    )


class ContactExportFilters(Schema):
    """The list's filters and sort, without paging: an export holds every match."""

    email: str | None = None
    phone: str | None = None
    stage: Stage | None = None
    temperature: TemperatureValue | None = None
    owner: str | None = Field(None, description="A user id, or 'none' for unowned contacts.")
    tag: str | None = None
    company: int | None = None
    created_after: str | None = None
    created_before: str | None = None
    q: str | None = Field(None, description="Free text over name, email and company name.")
    conditions: str | None = Field(
        None,
        description="A condition tree as JSON (docs/conditions.md), ANDed with the other "
        'filters, e.g. {"version": 1, "match": "all", "children": [{"field": '
        '"lifecycle_stage", "operator": "at_least", "value": "mql"}]}.',
    )
    sort: Literal[
        "created_at", "-created_at", "updated_at", "-updated_at", "last_name", "-last_name",
        "-engagement_score", "engagement_score", "fit_grade", "-fit_grade",
        "-conversion_probability", "conversion_probability",
    ] = "-created_at"  # fmt: skip


class ContactFilters(ContactExportFilters):
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


BULK_MAX = 1000


class BulkIn(StrictSchema):
    contacts: list[Any] = Field(
        min_length=1,
        max_length=BULK_MAX,
        description="1 to 1,000 contacts, each with the fields of POST /contacts.",
    )


class ItemError(Schema):
    field: str
    message: str


class BulkItemOut(Schema):
    index: int
    status: Literal["created", "updated", "error"]
    id: int | None
    errors: list[ItemError]


class BulkOut(Schema):
    results: list[BulkItemOut]
    created: int
    updated: int
    failed: int


def _body(data: StrictSchema) -> dict[str, Any]:
    return data.dict(exclude_unset=True)


def _json(request: HttpRequest, data: Any, status: int) -> HttpResponse:
    return json_response(data, status=status)


def _contact_out(workspace, actor, contact_id: int) -> dict:
    return ContactOut.from_orm(selectors.contact_get(workspace, actor, contact_id)).dict()


# --- contacts -------------------------------------------------------------------------------


@router.post(
    "/contacts",
    response={200: ContactOut, 201: ContactOut},
    tags=["contacts"],
    summary="Create a contact, or update the one with the same email (or phone)",
)
def contact_create(request, payload: ContactIn):
    """Upsert: answers 201 when created, 200 when an existing contact (same email, or same
    phone when no email is given) was updated. Honours ``Idempotency-Key``."""
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        result = services.contact_upsert(workspace=workspace, data=_body(payload), actor=actor)
        return _json(
            request,
            _contact_out(workspace, actor, result.contact.pk),
            201 if result.created else 200,
        )

    return idempotent(request, workspace, produce)


@router.get("/contacts", response=ContactPage, tags=["contacts"], summary="List contacts")
def contact_list(request, filters: Query[ContactFilters]):
    """Filter, sort and page through contacts. Custom field equality: ``custom.<key>=value``.
    Pages are keyset-based: pass ``next_cursor`` as ``cursor`` for the next page."""
    workspace, actor = require_scope(request, READ)
    params = _filter_params(request, filters)
    sort, cursor, limit = params.pop("sort"), params.pop("cursor", None), params.pop("limit")
    tree = _conditions(params.pop("conditions", None))
    queryset = selectors.contact_list(workspace, actor, params, tree)
    page = selectors.cursor_paginate(queryset, sort=sort, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


def _filter_params(request: HttpRequest, filters: Schema) -> dict[str, Any]:
    """The query's filters for ``selectors.contact_list``: ``custom.<key>=value`` gathered
    under ``custom``; any parameter the schema does not know is a 422."""
    params = filters.dict(exclude_none=True)
    known = set(type(filters).model_fields)
    custom, unknown = {}, []
    for name, value in request.GET.items():
        if name.startswith("custom."):
            custom[name.removeprefix("custom.")] = value
        elif name not in known:
            unknown.append(FieldError(name, "Unknown query parameter."))
    if unknown:
        raise ValidationFailed(unknown)
    if custom:
        params["custom"] = custom
    return params


def _conditions(text: str | None) -> Node | None:
    """The ``conditions`` parameter's tree (shape checked here, fields when compiled)."""
    if not text:
        return None
    # Text values are checked by the tree itself, each named by its path in the tree
    # (``conditions.children[0].value``), not by the JSON parser's dotted path.
    return tree_from_json(json_parse(text, field="conditions", check_text=False))


def _bulk_item(workspace, actor, index: int, item: Any) -> dict[str, Any]:
    """One item of a bulk upsert: checked against ContactIn, then upserted in its own
    savepoint, so a failing item leaves nothing behind and the others go on."""
    try:
        if not isinstance(item, dict):
            raise ValidationFailed([FieldError("body", "Each contact must be a JSON object.")])
        try:
            data = ContactIn.model_validate(item).dict(exclude_unset=True)
        except PydanticValidationError as error:
            raise ValidationFailed(
                [
                    FieldError(
                        ".".join(map(str, problem["loc"])) or "body",
                        "Unknown field."
                        if problem["type"] == "extra_forbidden"
                        else problem["msg"],
                    )
                    for problem in error.errors()
                ]
            ) from None
        result = services.contact_upsert(workspace=workspace, data=data, actor=actor)
    except DomainError as error:
        errors = getattr(error, "errors", None) or [FieldError("body", error.detail)]
        return {"index": index, "status": "error", "id": None, "errors": _as_dicts(errors)}
    status = "created" if result.created else "updated"
    return {"index": index, "status": status, "id": result.contact.pk, "errors": []}


def _as_dicts(errors: list[FieldError]) -> list[dict[str, str]]:
    return [error.as_dict() for error in errors]


@router.post(
    "/contacts/bulk",
    response=BulkOut,
    tags=["contacts"],
    summary="Create or update up to 1,000 contacts, with a result per contact",
)
def contact_bulk_upsert(request, payload: BulkIn):
    """Each contact is upserted as by POST /contacts, in order and on its own: a contact
    that fails (bad or unknown fields included) is reported in its result and leaves
    nothing behind, the others are stored. A later contact with the same email as an
    earlier one updates it. Answers 200 whatever the items' outcome; honours
    ``Idempotency-Key``."""
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        with transaction.atomic():
            results = [
                _bulk_item(workspace, actor, index, item)
                for index, item in enumerate(payload.contacts)
            ]
        counts = Counter(result["status"] for result in results)
        body = {
            "results": results,
            "created": counts["created"],
            "updated": counts["updated"],
            "failed": counts["error"],
        }
        return _json(request, body, 200)

    return idempotent(request, workspace, produce)


def _export(request, filters: ContactExportFilters, fmt: str) -> HttpResponse:
    workspace, actor = require_scope(request, READ)
    params = _filter_params(request, filters)
    sort = params.pop("sort")
    tree = _conditions(params.pop("conditions", None))
    rows = selectors.contact_export_rows(workspace, actor, params, sort=sort, conditions=tree)
    return export_response(rows, fmt=fmt, filename=f"{workspace.slug}-contacts")


@router.get(
    "/contacts/export.csv",
    response={200: None},
    tags=["contacts"],
    summary="Export the matching contacts as CSV",
)
def contact_export_csv(request, filters: Query[ContactExportFilters]):
    """Every contact matching the list's filters (no paging), streamed as CSV (UTF-8 with
    a BOM). One column per field, then one per custom field (``custom.<key>``); cells a
    spreadsheet would run as a formula (starting with = + - @, tab or carriage return)
    get a leading apostrophe."""
    return _export(request, filters, "csv")


@router.get(
    "/contacts/export.xlsx",
    response={200: None},
    tags=["contacts"],
    summary="Export the matching contacts as an Excel workbook",
)
def contact_export_xlsx(request, filters: Query[ContactExportFilters]):
    """The same rows and columns as ``export.csv``, as one .xlsx sheet, with the same
    formula escaping."""
    return _export(request, filters, "xlsx")


@router.get(
    "/contacts/{contact_id}", response=ContactOut, tags=["contacts"], summary="Get a contact"
)
def contact_get(request, contact_id: int):
    workspace, actor = require_scope(request, READ)
    return selectors.contact_get(workspace, actor, contact_id)


@router.patch(
    "/contacts/{contact_id}",
    response=ContactOut,
    tags=["contacts"],
    summary="Change some fields of a contact",
)
def contact_patch(request, contact_id: int, payload: ContactIn):
    """Only the given fields change; ``tags`` given replaces the contact's tags."""
    workspace, actor = require_scope(request, WRITE)
    services.contact_update(
        workspace=workspace, contact_id=contact_id, data=_body(payload), actor=actor
    )
    return selectors.contact_get(workspace, actor, contact_id)


@router.delete(
    "/contacts/{contact_id}",
    response={204: None},
    tags=["contacts"],
    summary="Delete a contact and its timeline",
)
def contact_delete(request, contact_id: int):
    workspace, actor = require_scope(request, WRITE)
    services.contact_delete(workspace=workspace, contact_id=contact_id, actor=actor)
    return Status(204, None)


@router.post(
    "/contacts/{contact_id}/merge",
    response=ContactOut,
    tags=["contacts"],
    summary="Merge another contact into this one",
)
def contact_merge(request, contact_id: int, payload: MergeIn):
    """Keeps every activity, tag and field of both; the other contact is deleted."""
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        services.contact_merge(
            workspace=workspace,
            primary_id=contact_id,
            secondary_id=payload.other_id,
            actor=actor,
            choices=payload.choices,
        )
        return _json(request, _contact_out(workspace, actor, contact_id), 200)

    return idempotent(request, workspace, produce)


@router.get(
    "/contacts/{contact_id}/activities",
    response=ActivityPage,
    tags=["contacts"],
    summary="The contact's timeline, newest first",
)
def contact_activities(
    request, contact_id: int, cursor: int | None = None, limit: int = Query(50, ge=1, le=500)
):
    """The same history as the app's timeline: activities, and the items other apps keep
    (tracking's visits) that fall between them, newest first. ``cursor`` is the oldest
    activity id of the previous page."""
    workspace, actor = require_scope(request, READ)
    history = selectors.contact_history(workspace, actor, contact_id, limit=limit, before_id=cursor)
    entries = [
        {
            "id": activity.pk,
            "kind": activity.kind,
            "occurred_at": activity.occurred_at,
            "actor": activity.actor_label,
            "data": activity.data,
        }
        for activity in history.activities
    ] + [
        {
            "id": None,
            "kind": item.kind,
            "occurred_at": item.occurred_at,
            "actor": "",
            "data": item.data,
        }
        for item in history.items
    ]
    # Stable: an activity stays before an item of the same moment, as on the app's timeline.
    entries.sort(key=lambda entry: entry["occurred_at"], reverse=True)
    next_cursor = str(history.older.pk) if history.older else None
    return {"items": entries, "next_cursor": next_cursor}


@router.post(
    "/contacts/{contact_id}/notes",
    response={201: ActivityOut},
    tags=["contacts"],
    summary="Add a note to the contact's timeline",
)
def contact_note(request, contact_id: int, payload: NoteIn):
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        note = services.note_add(
            workspace=workspace,
            contact_id=contact_id,
            body=payload.body,
            mention_ids=payload.mention_ids,
            actor=actor,
        )
        return _json(request, ActivityOut.from_orm(note).dict(), 201)

    return idempotent(request, workspace, produce)


# --- companies ------------------------------------------------------------------------------


@router.post(
    "/companies", response={201: CompanyOut}, tags=["companies"], summary="Create a company"
)
def company_create(request, payload: CompanyIn):
    workspace, actor = require_scope(request, WRITE)

    def produce() -> HttpResponse:
        company = services.company_create(workspace=workspace, data=_body(payload), actor=actor)
        return _json(request, CompanyOut.from_orm(company).dict(), 201)

    return idempotent(request, workspace, produce)


@router.get("/companies", response=CompanyPage, tags=["companies"], summary="List companies")
def company_list(
    request,
    q: str = "",
    sort: Literal["name", "-name", "created_at", "-created_at"] = "name",
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
):
    workspace, _ = require_scope(request, READ)
    page = selectors.cursor_paginate(
        selectors.company_list(workspace, q), sort=sort, cursor=cursor, limit=limit
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/companies/{company_id}", response=CompanyOut, tags=["companies"], summary="Get a company"
)
def company_get(request, company_id: int) -> Company:
    workspace, _ = require_scope(request, READ)
    return selectors.company_get(workspace, company_id)


@router.patch(
    "/companies/{company_id}",
    response=CompanyOut,
    tags=["companies"],
    summary="Change some fields of a company",
)
def company_patch(request, company_id: int, payload: CompanyIn):
    workspace, actor = require_scope(request, WRITE)
    return services.company_update(
        workspace=workspace, company_id=company_id, data=_body(payload), actor=actor
    )


@router.delete(
    "/companies/{company_id}",
    response={204: None},
    tags=["companies"],
    summary="Delete a company (its contacts stay)",
)
def company_delete(request, company_id: int):
    workspace, actor = require_scope(request, WRITE)
    services.company_delete(workspace=workspace, company_id=company_id, actor=actor)
    return Status(204, None)


# --- custom fields ----------------------------------------------------------------------------


@router.get(
    "/custom-fields",
    response=list[CustomFieldOut],
    tags=["custom fields"],
    summary="List custom field definitions",
)
def custom_field_list(request):
    workspace, _ = require_scope(request, SETTINGS_READ)
    return list(selectors.custom_field_list(workspace))


@router.post(
    "/custom-fields",
    response={201: CustomFieldOut},
    tags=["custom fields"],
    summary="Define a custom field",
)
def custom_field_create(request, payload: CustomFieldIn):
    workspace, actor = require_scope(request, SETTINGS_WRITE)

    def produce() -> HttpResponse:
        definition = services.custom_field_create(
            workspace=workspace, data=_body(payload), actor=actor
        )
        return _json(request, CustomFieldOut.from_orm(definition).dict(), 201)

    return idempotent(request, workspace, produce)


@router.get(
    "/custom-fields/{field_id}",
    response=CustomFieldOut,
    tags=["custom fields"],
    summary="Get a custom field definition",
)
def custom_field_get(request, field_id: int) -> CustomField:
    workspace, _ = require_scope(request, SETTINGS_READ)
    return selectors.custom_field_get(workspace, field_id)


@router.patch(
    "/custom-fields/{field_id}",
    response=CustomFieldOut,
    tags=["custom fields"],
    summary="Change a custom field definition (not its key or type)",
)
def custom_field_patch(request, field_id: int, payload: CustomFieldIn):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    return services.custom_field_update(
        workspace=workspace, field_id=field_id, data=_body(payload), actor=actor
    )


@router.delete(
    "/custom-fields/{field_id}",
    response={204: None},
    tags=["custom fields"],
    summary="Delete a custom field definition",
)
def custom_field_delete(request, field_id: int):
    workspace, actor = require_scope(request, SETTINGS_WRITE)
    services.custom_field_delete(workspace=workspace, field_id=field_id, actor=actor)
    return Status(204, None)


# The consent ledger's routes (their own module: api/consent.py).
from leadflow.contacts.api.consent import router as consent_router  # noqa: E402

router.add_router("/", consent_router)
