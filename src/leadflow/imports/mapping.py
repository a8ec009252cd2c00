"""What a file's columns mean and how its rows read: the targets a column can fill, the
guess of a mapping from headers, its check, dates (day first or month first), outcomes as
lifecycle stages, and each row cleaned into contact input (``row_clean``) with its problems.

A bad value in an optional cell is left out and the row stored without it (a warning); a
row whose email is bad, that has no usable email or phone, or (with
``bad_values="fail_row"``) any bad value is not stored at all (an error).
"""

import datetime as dt
import itertools
import re
from typing import Any

from django.utils import timezone

from leadflow.contacts.inputs import (
    CONTACT_INPUT_FIELDS,
    contact_input_clean,
)
from leadflow.contacts.models import CustomField, LifecycleStage
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.imports.files import SourceFile

# Rows read to tell how the file writes its dates (31/12 or 12/31).
DATE_SCAN_ROWS = 5000
NOTE_MAX = 10_000

# Contact fields a column can fill (ids are not imported from files).
IMPORT_FIELDS = sorted(CONTACT_INPUT_FIELDS - {"owner_id", "company_id", "custom_fields"})
SYNONYMS = {
    "email": ["email", "e-mail", "email address", "e-mail address", "mail", "emailaddress"],
    "first_name": ["first name", "firstname", "given name", "forename", "first"],
    "last_name": ["last name", "lastname", "surname", "family name", "last"],
    "phone": [
        "phone",
        "mobile",
        "telephone",
        "phone number",
        "mobile phone",
        "tel",
        "cell",
        "mobile number",
    ],
    "company": ["company", "organisation", "organization", "company name", "employer", "account"],
    "job_title": ["job title", "title", "position", "role", "jobtitle"],
    "country": ["country", "country code", "nation"],
    "street_address": [
        "street address",
        "address",
        "street",
        "address line 1",
        "address 1",
        "address1",
        "street 1",
    ],
    "city": ["city", "town", "locality"],
    "region": ["region", "state", "province", "county", "state province", "state region"],
    "postal_code": ["postal code", "postcode", "post code", "zip", "zip code", "zipcode"],
    "date_of_birth": ["date of birth", "dob", "birthday", "birth date", "birthdate", "born"],
    "tags": ["tags", "tag", "labels", "lists"],
    "source": ["source", "lead source", "utm source"],
    "medium": ["medium", "utm medium"],
    "campaign": ["campaign", "utm campaign"],
    "channel": ["channel"],
    "lifecycle_stage": ["lifecycle stage", "stage", "lifecycle"],
    "temperature": ["temperature"],
    "consent_status": ["consent", "consent status"],
    "outcome": ["outcome", "result", "won lost", "deal outcome", "deal status", "converted"],
    "outcome_at": [
        "outcome date",
        "outcome at",
        "closed at",
        "closed date",
        "close date",
        "date closed",
        "closed on",
        "won date",
        "lost date",
        "won at",
        "lost at",
        "conversion date",
        "converted at",
    ],
    "note": ["note", "notes", "comment", "comments", "remarks"],
    "created_at": [
        "created",
        "created at",
        "created date",
        "date created",
        "create date",
        "created on",
        "signup date",
        "sign up date",
        "lead date",
    ],
}
CHOICE_TARGETS = {"lifecycle_stage", "temperature", "consent_status"}
# Targets a custom field of the same name or label takes the column from: the note, and the
# identity fields a workspace may have made its own field for before they were built in.
CUSTOM_FIRST = ("note", "street_address", "city", "region", "postal_code", "date_of_birth")
# Targets beyond contact fields: the historical outcome (stored as won / lost, and as a
# lifecycle stage) and its date, the original created date and a note for the timeline.
SPECIAL_TARGETS = ("outcome", "outcome_at", "created_at", "note")
DATE_TARGETS = ("created_at", "date_of_birth", "outcome_at")
TARGETS = sorted({*IMPORT_FIELDS, *SPECIAL_TARGETS})
# Historical outcomes of an old system, as lifecycle stages: won deals are customers, lost
# or disqualified leads are disqualified (the predictive score learns from both).
OUTCOME_STAGES = {
    **dict.fromkeys(
        ["won", "closed won", "customer", "converted", "yes", "y", "true", "1", "success", "sale"],
        "customer",
    ),
    **dict.fromkeys(
        [
            "lost",
            "closed lost",
            "disqualified",
            "unqualified",
            "no",
            "n",
            "false",
            "0",
            "rejected",
            "junk",
        ],
        "disqualified",
    ),
}
# Countries that write dates month first (05/01/2024 is May 1st); elsewhere day first.
MONTH_FIRST_COUNTRIES = {"US", "PH", "FM", "MH", "PW", "BZ"}
_LOCAL_DATE = re.compile(r"\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}\b")


def _header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", header.lower()).strip()


_SYNONYM_INDEX = {
    _header_key(synonym): target for target, names in SYNONYMS.items() for synonym in names
} | {_header_key(name): name for name in TARGETS}


# --- mapping -------------------------------------------------------------------------------


def mapping_guess(headers: list[str], custom_fields: list[CustomField]) -> dict[str, str]:
    """{header: target} by field names and common synonyms, case-insensitive; "" = ignored.

    A target is used once: the first column that names it wins, later ones are ignored.
    """
    index = dict(_SYNONYM_INDEX)
    for definition in custom_fields:
        for name in (definition.key, definition.label):
            # A custom field named "Notes" or "City" (CUSTOM_FIRST) keeps its column; other
            # synonyms keep theirs.
            if index.get(_header_key(name)) in (None, *CUSTOM_FIRST):
                index[_header_key(name)] = f"custom_fields.{definition.key}"
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        target = index.get(_header_key(header), "")
        if target in used:
            target = ""
        used.add(target)
        mapping[header] = target
    return mapping


def mapping_merge(
    headers: list[str], guessed: dict[str, str], saved: dict[str, str], repeatable: str
) -> dict[str, str]:
    """A saved mapping's targets for the columns it knows, the guesses for the rest; a guess
    that repeats a target the saved mapping gives is dropped (ignored), but ``repeatable``
    (tags for contacts, property for activities)."""
    mapping = {header: saved.get(header, guessed[header]) for header in headers}
    used = {target for header, target in mapping.items() if header in saved}
    for header in headers:
        if header not in saved and mapping[header] in used and mapping[header] != repeatable:
            mapping[header] = ""
    return mapping


def mapping_check(
    mapping: dict[str, str], headers: list[str], custom_fields: list[CustomField]
) -> None:
    """ValidationFailed naming every unknown column or target, a field mapped from two
    columns, or a mapping without email and phone."""
    keys = {definition.key for definition in custom_fields}
    errors = []
    seen: dict[str, str] = {}
    for header, target in mapping.items():
        if not isinstance(target, str):
            errors.append(FieldError(f"mapping.{header}", "Must be a field name or empty."))
        elif header not in headers:
            errors.append(FieldError(f"mapping.{header}", "No such column in the file."))
        elif (
            target
            and target not in TARGETS
            and not (
                target.startswith("custom_fields.")
                and target.removeprefix("custom_fields.") in keys
            )
        ):
            errors.append(FieldError(f"mapping.{header}", f"Unknown field: {target}."))
        elif target and target != "tags" and target in seen:
            errors.append(
                FieldError(f"mapping.{header}", f"{target} is mapped from {seen[target]!r} too.")
            )
        elif target:
            seen[target] = header
    if not {"email", "phone"} & set(seen):
        errors.append(FieldError("mapping", "Map a column to email or phone."))
    if errors:
        raise ValidationFailed(errors)


def date_parse(value: str, *, day_first: bool) -> dt.datetime:
    """An aware datetime from ISO 8601 or a local date ("31/12/2024", "12/31/2024 14:05",
    "31.12.24"); ValueError with a reason otherwise. A date without a time is midnight UTC."""
    text = value.strip()
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if " " in text else text)
    except ValueError:
        date_part, _, time_part = text.partition(" ")
        order = ("%d", "%m") if day_first else ("%m", "%d")
        for separator in "/.-":
            for year in ("%Y", "%y"):
                try:
                    day = dt.datetime.strptime(date_part, separator.join([*order, year]))
                except ValueError:
                    continue
                parsed = day
                break
            if parsed:
                break
        if parsed and time_part:
            for layout in ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p"):
                try:
                    moment = dt.datetime.strptime(time_part.strip(), layout)
                except ValueError:
                    continue
                parsed = parsed.replace(
                    hour=moment.hour, minute=moment.minute, second=moment.second
                )
                break
            else:
                parsed = None
    if parsed is None:
        style = "DD/MM/YYYY" if day_first else "MM/DD/YYYY"
        raise ValueError(f"Not a date: use YYYY-MM-DD or {style}.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    if parsed > timezone.now() + dt.timedelta(days=1):
        raise ValueError("The date is in the future.")
    return parsed


def outcome_stage(value: str) -> str:
    """The lifecycle stage of a historical outcome ("won" -> customer, "lost" ->
    disqualified, or a stage name itself); ValueError naming the accepted values."""
    key = _header_key(value)
    if key in OUTCOME_STAGES:
        return OUTCOME_STAGES[key]
    if key in LifecycleStage.values:
        return key
    raise ValueError(
        f"Unknown outcome {value!r}: use won/lost, customer/disqualified, 1/0 or a lifecycle stage."
    )


# The stored outcome of an outcome stage (contacts.models.Outcome): training learns from it.
STAGE_OUTCOMES = {"customer": "won", "disqualified": "lost"}


def day_first_default(workspace: Workspace) -> bool:
    return (workspace.default_country or "").upper() not in MONTH_FIRST_COUNTRIES


# --- rows ----------------------------------------------------------------------------------


def _row_data(
    headers: list[str], row: list[str], mapping: dict[str, str], options: dict
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The row as contact input, {input key: column} to name a bad cell's column, and the
    special targets' raw values ({"outcome": "won", "created_at": "2024-01-31"})."""
    data: dict[str, Any] = {}
    columns: dict[str, str] = {}
    custom: dict[str, Any] = {}
    special: dict[str, str] = {}
    tags: list[str] = list(options.get("tags") or [])
    for position, header in enumerate(headers):
        target = mapping.get(header)
        if not target:
            continue
        value = row[position].strip() if position < len(row) else ""
        if target == "tags":
            tags += [name for name in re.split(r"[,;|]", value) if name.strip()]
            columns["tags"] = header
        elif target in SPECIAL_TARGETS:
            if value:
                special[target] = value
            columns[target] = header
        elif target.startswith("custom_fields."):
            key = target.removeprefix("custom_fields.")
            if value:
                custom[key] = value
            columns[target] = header
        else:
            if target in CHOICE_TARGETS:
                value = value.lower()
            if value or target not in CHOICE_TARGETS:
                data[target] = value
            columns[target] = header
    if options.get("source") and not data.get("source"):
        data["source"] = options["source"]
    if custom:
        data["custom_fields"] = custom
    if tags:
        data["tags"] = tags
    return data, columns, special


def _without(data: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """The row's input less the fields named by errors ("email", "custom_fields.budget")."""
    kept = {key: value for key, value in data.items() if key not in fields}
    if "custom_fields" in kept:
        kept["custom_fields"] = {
            key: value
            for key, value in kept["custom_fields"].items()
            if f"custom_fields.{key}" not in fields
        }
    return kept


def row_clean(
    workspace: Workspace,
    headers: list[str],
    row: list[str],
    mapping: dict[str, str],
    options: dict,
    definitions: list[CustomField],
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Clean contact input for one row and the values left out of it as (column, reason);
    ValidationFailed, with column names as fields, when the row cannot be stored.

    A bad value in an optional cell (a number, a date, an outcome, a stage, a phone beside a
    good email...) is left out and reported; the row fails only when its email is bad, it
    has no usable email or phone, or ``options["bad_values"]`` is "fail_row" (then every
    problem of the row is named). Dates (the created date and custom date fields) may be
    written as ``options["day_first"]`` says; the outcome becomes the lifecycle stage and,
    when it is won (customer) or lost (disqualified), the stored outcome, with the outcome
    date when mapped; a note is kept for the contact's timeline.
    """
    data, columns, special = _row_data(headers, row, mapping, options)
    day_first = options.get("day_first", True)
    problems: list[FieldError] = []
    custom = data.get("custom_fields") or {}
    for definition in definitions:
        if definition.field_type == "date" and custom.get(definition.key):
            try:
                custom[definition.key] = (
                    date_parse(custom[definition.key], day_first=day_first).date().isoformat()
                )
            except ValueError as error:
                problems.append(FieldError(f"custom_fields.{definition.key}", str(error)))
                del custom[definition.key]
    if data.get("date_of_birth"):  # written like the file's other dates
        try:
            data["date_of_birth"] = (
                date_parse(data["date_of_birth"], day_first=day_first).date().isoformat()
            )
        except ValueError as error:
            problems.append(FieldError("date_of_birth", str(error)))
            del data["date_of_birth"]
    extra: dict[str, Any] = {}
    if "outcome" in special:
        try:
            extra["lifecycle_stage"] = outcome_stage(special["outcome"])
        except ValueError as error:
            problems.append(FieldError("outcome", str(error)))
        else:
            if extra["lifecycle_stage"] in STAGE_OUTCOMES:
                extra["outcome"] = STAGE_OUTCOMES[extra["lifecycle_stage"]]
    if "outcome_at" in special:
        try:
            extra["outcome_at"] = date_parse(special["outcome_at"], day_first=day_first)
        except ValueError as error:
            problems.append(FieldError("outcome_at", str(error)))
    if "created_at" in special:
        try:
            extra["created_at"] = date_parse(special["created_at"], day_first=day_first)
        except ValueError as error:
            problems.append(FieldError("created_at", str(error)))
    if "note" in special:
        if len(special["note"]) > NOTE_MAX:
            problems.append(FieldError("note", f"At most {NOTE_MAX:,} characters."))
        else:
            extra["note"] = special["note"]
    clean: dict[str, Any] | None = None
    try:
        clean = contact_input_clean(
            workspace=workspace, data=data, partial=True, custom_fields=definitions
        )
    except ValidationFailed as failure:
        problems = failure.errors + problems
        try:  # the row without its bad values
            clean = contact_input_clean(
                workspace=workspace,
                data=_without(data, {error.field for error in failure.errors}),
                partial=True,
                custom_fields=definitions,
            )
        except ValidationFailed as again:
            problems += again.errors
    if clean is None or options.get("bad_values") == "fail_row":
        errors = list(problems)
    else:
        # A mistyped email must not be stored, nor found as someone else; a bad phone is
        # the row's identity when it has no email.
        identity = {"email"} if clean.get("email") else {"email", "phone"}
        errors = [problem for problem in problems if problem.field in identity]
    if not errors and not (clean or {}).get("email") and not (clean or {}).get("phone"):
        errors.append(FieldError("email", "An email or a phone number is required."))
    named = [(columns.get(problem.field, problem.field), problem.message) for problem in problems]
    if errors:
        missing = [(columns.get(e.field, e.field), e.message) for e in errors if e not in problems]
        raise ValidationFailed([FieldError(column, message) for column, message in named + missing])
    return {**clean, **extra}, named


def day_first_detect(
    source: SourceFile, mapping: dict[str, str], definitions: list[CustomField]
) -> bool | None:
    """How the file writes its dates, from the date columns' first ``DATE_SCAN_ROWS`` rows:
    True when a date can only be read day first (31/12/2023) and none only month first,
    False for the reverse (12/31/2023), None when no date tells (or they disagree)."""
    dates = {f"custom_fields.{d.key}" for d in definitions if d.field_type == "date"}
    positions = [
        position
        for position, header in enumerate(source.headers)
        if mapping.get(header) in DATE_TARGETS or mapping.get(header) in dates
    ]
    if not positions:
        return None
    day_only = month_only = False
    for row in itertools.islice(source.rows(), DATE_SCAN_ROWS):
        for position in positions:
            match = _LOCAL_DATE.match(row[position]) if position < len(row) else None
            if match:
                first, second = int(match[1]), int(match[2])
                day_only |= first > 12 >= second
                month_only |= second > 12 >= first
        if day_only and month_only:
            return None
    return True if day_only else False if month_only else None


def field_type_guess(values: list[str], *, day_first: bool = True) -> str:
    """The custom field type a column's values suggest: number, date, boolean or text."""
    values = [value.strip() for value in values if value.strip()]
    if not values:
        return "text"
    booleans = {"yes", "no", "true", "false", "y", "n"}
    if all(value.lower() in booleans for value in values):
        return "boolean"
    if all(re.fullmatch(r"-?\d+(\.\d+)?", value) for value in values):
        return "number"
    for order in (day_first, not day_first):  # 31/12/2023 is a date whatever the default
        try:
            for value in values:
                date_parse(value, day_first=order)
        except ValueError:
            continue
        return "date"
    return "text"


def column_samples(source: SourceFile, count: int = 3, scan: int = 200) -> dict[str, list[str]]:
    """Up to ``count`` non-empty values of each column among the first ``scan`` rows."""
    samples: dict[str, list[str]] = {header: [] for header in source.headers}
    for index, row in enumerate(source.rows()):
        if index >= scan:
            break
        for position, header in enumerate(source.headers):
            value = row[position].strip() if position < len(row) else ""
            if value and len(samples[header]) < count:
                samples[header].append(value)
    return samples
