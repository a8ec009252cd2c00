"""The payload formats a lead source understands: how each proves who sent it, where its
lead id, answers and ad ids are, and which answers are which contact fields.

Ready-made formats (see docs/inbound.md and decision 0012 for the documents they follow):

- ``facebook``: Meta Lead Ads. A lead's answers are ``field_data`` ([{"name", "values"}])
  as returned by the Graph API lead retrieval and as forwarded by integrators, either at
  the top level or under ``entry[].changes[].value``. A realtime ``leadgen`` notification
  carries only ``leadgen_id``: it is logged as "must be fetched" (LeadFlow never calls
  Meta). Signed ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body, app secret)>``.
- ``linkedin``: a Lead Sync form response (``formResponse.answers`` by ``questionId``, with
  the form's questions for their names and ``predefinedField``). A ``LEAD_ACTION``
  notification carries only the response URN and is logged as "must be fetched". Signed
  ``X-LI-Signature: <hex HMAC-SHA256("hmacsha256=" + body, client secret)>``.
- ``google``: Google Ads lead form webhook: ``user_column_data`` by ``column_id``,
  ``lead_id``, campaign / ad group / creative / form ids; the ``google_key`` in the body
  must equal the source's secret.
- ``generic``: any JSON, mapped by dotted paths.

Every format also accepts LeadFlow's own proofs, for integrators that forward leads:
``X-LeadFlow-Signature: sha256=<hex HMAC-SHA256(body, secret)>`` or
``X-LeadFlow-Secret: <secret>``. Comparisons are constant-time.

Longer than the house's ~600 lines: one section per network (Facebook, LinkedIn, Google,
generic), each small and alike; they are read side by side when a network changes its
payload.
"""

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leadflow.contacts.inputs import TEXT_LIMITS
from leadflow.contacts.models import CustomField
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.publickit import clip
from leadflow.core.validation import json_parse
from leadflow.inbound.models import LeadSource, SourceFormat

SIGNATURE_HEADER = "X-LeadFlow-Signature"
SECRET_HEADER = "X-LeadFlow-Secret"
META_SIGNATURE_HEADER = "X-Hub-Signature-256"
LINKEDIN_SIGNATURE_HEADER = "X-LI-Signature"
# Headers kept with a delivery (never the shared-secret header: it is the secret itself).
KEPT_HEADERS = (
    "Content-Type",
    "User-Agent",
    "Idempotency-Key",
    SIGNATURE_HEADER,
    META_SIGNATURE_HEADER,
    LINKEDIN_SIGNATURE_HEADER,
)

# Where a mapped value may go.
CONTACT_TARGETS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "full_name",
    "job_title",
    "company",
    "country",
    "street_address",
    "city",
    "region",
    "postal_code",
    "date_of_birth",
    "tags",
)
ATTRIBUTION_KEYS = ("campaign", "ad", "adset", "form", "medium")
MAX_MAPPED_FIELDS = 100
MAX_PATH_LENGTH = 300
MAX_ANSWER_LENGTH = 2000

# The networks' own field names and what they are in LeadFlow. The first given value of a
# target wins (an "email" beats a "work_email"). Google's column ids and LinkedIn's
# predefined fields share their names.
_UPPER_CASE_FIELDS = {
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE": "phone",
    "JOB_TITLE": "job_title",
    "COMPANY_NAME": "company",
    "COUNTRY": "country",
    "STREET_ADDRESS": "street_address",
    "CITY": "city",
    "REGION": "region",
    "POSTAL_CODE": "postal_code",
}
STANDARD_FIELDS: dict[str, dict[str, str]] = {
    SourceFormat.FACEBOOK: {
        "email": "email",
        "work_email": "email",
        "full_name": "full_name",
        "first_name": "first_name",
        "last_name": "last_name",
        "phone_number": "phone",
        "work_phone_number": "phone",
        "job_title": "job_title",
        "company_name": "company",
        "country": "country",
        "street_address": "street_address",
        "city": "city",
        "state": "region",
        "province": "region",
        "zip_code": "postal_code",
        "post_code": "postal_code",
        "date_of_birth": "date_of_birth",
    },
    SourceFormat.GOOGLE: {"FULL_NAME": "full_name", **_UPPER_CASE_FIELDS},
    # LinkedIn's predefined questions name the region STATE and the postal code ZIP_CODE.
    SourceFormat.LINKEDIN: {**_UPPER_CASE_FIELDS, "STATE": "region", "ZIP_CODE": "postal_code"},
    SourceFormat.GENERIC: {},
}
NETWORK = {
    SourceFormat.FACEBOOK: ("facebook", "paid_social", "paid_social"),
    SourceFormat.LINKEDIN: ("linkedin", "paid_social", "paid_social"),
    SourceFormat.GOOGLE: ("google", "cpc", "paid_search"),
}
# How an answer's name is shown in errors, so the sender knows what to fix.
ORIGIN_PREFIX = {
    SourceFormat.FACEBOOK: "field_data",
    SourceFormat.GOOGLE: "user_column_data",
    SourceFormat.LINKEDIN: "formResponse.answers",
    SourceFormat.GENERIC: "",
}


@dataclass
class ParsedLead:
    """What a payload says, in the network's own words, before mapping."""

    lead_id: str | None
    values: dict[str, Any] = field(default_factory=dict)
    attribution: dict[str, str] = field(default_factory=dict)
    is_test: bool = False
    # Set when the payload is only a notification: the lead itself must be fetched.
    needs_fetch: str = ""


@dataclass
class MappedLead:
    """A parsed lead as contact data (for ``contact_upsert``) plus what stays on the
    timeline; ``origins`` says which payload field each contact field came from."""

    contact: dict[str, Any]
    answers: dict[str, Any]
    origins: dict[str, str]


# --- proving the sender ----------------------------------------------------------------------


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.strip().lower().encode(), expected.lower().encode())


def _leadflow_proof(source: LeadSource, body: bytes, headers: Mapping[str, str]) -> bool | None:
    """True/False when a LeadFlow header is present, None when neither is."""
    signature = headers.get(SIGNATURE_HEADER)
    secret = headers.get(SECRET_HEADER)
    if signature is None and secret is None:
        return None
    for accepted in source.secrets_accepted():
        if signature is not None and _equal(
            signature.removeprefix("sha256="), _hmac_hex(accepted, body)
        ):
            return True
        if secret is not None and hmac.compare_digest(secret.encode(), accepted.encode()):
            return True
    return False


def signature_problem(
    source: LeadSource, body: bytes, headers: Mapping[str, str], payload: Any
) -> str:
    """Why this request is not proven to come from the source's sender ('' when it is)."""
    leadflow = _leadflow_proof(source, body, headers)
    if leadflow:
        return ""
    if source.format == SourceFormat.FACEBOOK:
        given = headers.get(META_SIGNATURE_HEADER)
        if given is not None:
            if not source.app_secret:
                return "No Meta app secret is set on this lead source to check X-Hub-Signature-256."
            expected = _hmac_hex(source.app_secret, body)
            if _equal(given.removeprefix("sha256="), expected):
                return ""
            return "X-Hub-Signature-256 does not match the body signed with the Meta app secret."
    if source.format == SourceFormat.LINKEDIN:
        given = headers.get(LINKEDIN_SIGNATURE_HEADER)
        if given is not None:
            if not source.app_secret:
                return (
                    "No LinkedIn client secret is set on this lead source to check X-LI-Signature."
                )
            expected = _hmac_hex(source.app_secret, b"hmacsha256=" + body)
            if _equal(given.removeprefix("hmacsha256="), expected):
                return ""
            return "X-LI-Signature does not match the body signed with the client secret."
    if source.format == SourceFormat.GOOGLE and isinstance(payload, dict):
        key = payload.get("google_key")
        if isinstance(key, str) and key:
            if any(
                hmac.compare_digest(key.encode(), s.encode()) for s in source.secrets_accepted()
            ):
                return ""
            return "google_key does not match this lead source's key."
    if leadflow is False:
        return f"{SIGNATURE_HEADER} / {SECRET_HEADER} does not match this lead source's secret."
    return {
        SourceFormat.FACEBOOK: f"No {META_SIGNATURE_HEADER} (or {SIGNATURE_HEADER}) header.",
        SourceFormat.LINKEDIN: f"No {LINKEDIN_SIGNATURE_HEADER} (or {SIGNATURE_HEADER}) header.",
        SourceFormat.GOOGLE: "No google_key in the body (or X-LeadFlow-Signature header).",
    }.get(source.format, f"No {SIGNATURE_HEADER} or {SECRET_HEADER} header.")


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    kept = {name: headers[name][:500] for name in KEPT_HEADERS if headers.get(name) is not None}
    if headers.get(SECRET_HEADER) is not None:
        kept[SECRET_HEADER] = "(given, not stored)"
    return kept


def linkedin_challenge_response(source: LeadSource, challenge_code: str) -> str:
    """LinkedIn's endpoint validation: hex HMAC-SHA256 of the challengeCode with the
    application's client secret."""
    return _hmac_hex(source.app_secret, challenge_code.encode())


# --- reading payloads --------------------------------------------------------------------------


def path_get(data: Any, path: str) -> Any:
    """The value at a dotted path (``contact.email``, ``answers.0.value``); None if absent."""
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
        if current is None:
            return None
    return current


def _text(value: Any, limit: int = 200) -> str:
    """A platform's value as stripped text (core.publickit.clip); a boolean is no text here."""
    return "" if isinstance(value, bool) else clip(value, limit, strip=True)


def _urn_id(urn: Any) -> str:
    """The last part of a LinkedIn URN (urn:li:sponsoredCampaign:123 -> 123)."""
    text = _text(urn, 300)
    return text.rsplit(":", 1)[-1].rstrip(")") if text else ""


def _linkedin_form_id(urn: Any) -> str:
    """The form id in ``urn:li:leadGenForm:123`` or in a versioned form URN
    ``urn:li:versionedLeadGenForm:(urn:li:leadGenForm:123,1)``."""
    match = re.search(r"leadGenForm:(\d+)", _text(urn, 300))
    return match.group(1) if match else ""


def parse(source: LeadSource, payload: Any) -> ParsedLead:
    """The lead in a payload, or ValidationFailed naming what is wrong with its shape."""
    if not isinstance(payload, dict):
        raise ValidationFailed([FieldError("body", "The body must be a JSON object.")])
    parser = {
        SourceFormat.FACEBOOK: _facebook,
        SourceFormat.LINKEDIN: _linkedin,
        SourceFormat.GOOGLE: _google,
        SourceFormat.GENERIC: _generic,
    }[source.format]
    return parser(source, payload)


def _facebook(source: LeadSource, payload: dict) -> ParsedLead:
    leads: list[dict] = []
    notifications: list[dict] = []
    if "field_data" in payload:
        leads.append(payload)
    for entry in payload.get("entry") or [] if isinstance(payload.get("entry"), list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            (leads if "field_data" in value else notifications).append(value)
    if not leads and notifications:
        ids = [_text(n.get("leadgen_id"), 100) for n in notifications if n.get("leadgen_id")]
        first = notifications[0]
        return ParsedLead(
            lead_id=ids[0] if len(ids) == 1 else None,
            attribution=_facebook_attribution(first),
            needs_fetch=(
                f"Meta sent only the lead id ({', '.join(ids) or 'none'}), not its answers: "
                "fetch the lead from the Graph API (GET /<leadgen_id>) and forward its "
                "field_data here, or use an integration that sends field_data."
            ),
        )
    if not leads:
        raise ValidationFailed(
            [FieldError("field_data", "No field_data (the lead's answers) in the payload.")]
        )
    if len(leads) > 1:
        raise ValidationFailed([FieldError("entry", "Send one lead per request.")])
    lead = leads[0]
    rows = lead.get("field_data")
    if not isinstance(rows, list):
        raise ValidationFailed([FieldError("field_data", "Must be a list of {name, values}.")])
    values: dict[str, Any] = {}
    errors = []
    for index, row in enumerate(rows):
        name = row.get("name") if isinstance(row, dict) else None
        answers = row.get("values") if isinstance(row, dict) else None
        if not isinstance(name, str) or not name or not isinstance(answers, list):
            errors.append(FieldError(f"field_data[{index}]", "Must be {name, values: [...]}."))
            continue
        texts = [_text(answer, MAX_ANSWER_LENGTH) for answer in answers]
        values[name[:100]] = texts[0] if len(texts) == 1 else texts
    if errors:
        raise ValidationFailed(errors)
    lead_id = _text(lead.get("id") or lead.get("leadgen_id"), 200) or None
    return ParsedLead(
        lead_id=lead_id,
        values=values,
        attribution=_facebook_attribution(lead),
        is_test=bool(lead.get("is_test")),
    )


def _facebook_attribution(lead: dict) -> dict[str, str]:
    attribution = {
        "campaign": _text(lead.get("campaign_name")) or _text(lead.get("campaign_id")),
        "campaign_id": _text(lead.get("campaign_id")),
        "ad": _text(lead.get("ad_id")),
        "adset": _text(lead.get("adset_id") or lead.get("adgroup_id")),
        "form": _text(lead.get("form_id")),
        "page": _text(lead.get("page_id")),
    }
    if lead.get("platform") == "ig":
        attribution["source"] = "instagram"
    return {key: value for key, value in attribution.items() if value}


def _linkedin(source: LeadSource, payload: dict) -> ParsedLead:
    if payload.get("type") == "LEAD_ACTION" or (
        "leadGenFormResponse" in payload and "formResponse" not in payload
    ):
        urn = _text(payload.get("leadGenFormResponse"), 300)
        return ParsedLead(
            lead_id=_urn_id(urn) or None,
            attribution={"form": _linkedin_form_id(payload.get("leadGenForm"))}
            if _linkedin_form_id(payload.get("leadGenForm"))
            else {},
            needs_fetch=(
                f"LinkedIn sent only a lead notification ({payload.get('leadAction') or 'lead'} "
                f"{urn or 'without a response URN'}), not its answers: fetch it from "
                "/rest/leadFormResponses and forward the response here."
            ),
        )
    response = payload.get("formResponse")
    answers = response.get("answers") if isinstance(response, dict) else None
    if not isinstance(answers, list):
        raise ValidationFailed(
            [
                FieldError(
                    "formResponse.answers", "No answers (formResponse.answers) in the payload."
                )
            ]
        )
    questions = path_get(payload, "form.content.questions")
    names: dict[Any, str] = {}
    for question in questions if isinstance(questions, list) else []:
        if isinstance(question, dict) and "questionId" in question:
            names[question["questionId"]] = _text(
                question.get("predefinedField") or question.get("name"), 100
            )
    values: dict[str, Any] = {}
    errors = []
    for index, answer in enumerate(answers):
        if not isinstance(answer, dict) or "questionId" not in answer:
            errors.append(FieldError(f"formResponse.answers[{index}]", "No questionId."))
            continue
        details = answer.get("answerDetails") or {}
        text = path_get(details, "textQuestionAnswer.answer")
        if text is None:
            choices = path_get(details, "multipleChoiceAnswer.options")
            text = [str(option) for option in choices] if isinstance(choices, list) else None
        name = names.get(answer["questionId"]) or f"question_{answer['questionId']}"
        values[name] = text if isinstance(text, list) else _text(text, MAX_ANSWER_LENGTH)
    if errors:
        raise ValidationFailed(errors)
    for hidden in path_get(payload, "form.hiddenFields") or []:
        if isinstance(hidden, dict) and hidden.get("name"):
            values.setdefault(_text(hidden["name"], 100), _text(hidden.get("value"), 2000))
    campaign = path_get(payload, "leadMetadata.sponsoredLeadMetadata.campaign")
    attribution = {
        "campaign": _urn_id(campaign),
        "ad": _urn_id(path_get(payload, "associatedEntity.associatedCreative")),
        "form": _text(path_get(payload, "form.id"))
        or _linkedin_form_id(payload.get("versionedLeadGenFormUrn")),
        "form_name": _text(path_get(payload, "form.name")),
        "lead_type": _text(payload.get("leadType")),
    }
    return ParsedLead(
        lead_id=_text(payload.get("id"), 200) or None,
        values=values,
        attribution={key: value for key, value in attribution.items() if value},
        is_test=bool(payload.get("testLead")),
    )


def _google(source: LeadSource, payload: dict) -> ParsedLead:
    columns = payload.get("user_column_data")
    if not isinstance(columns, list):
        raise ValidationFailed(
            [FieldError("user_column_data", "No user_column_data (the lead's answers).")]
        )
    values: dict[str, Any] = {}
    errors = []
    for index, column in enumerate(columns):
        name = (
            column.get("column_id") or column.get("column_name")
            if isinstance(column, dict)
            else None
        )
        if not isinstance(name, str) or not name:
            errors.append(FieldError(f"user_column_data[{index}]", "No column_id."))
            continue
        values[name[:100]] = _text(column.get("string_value"), MAX_ANSWER_LENGTH)
    if not _text(payload.get("lead_id")):
        errors.append(FieldError("lead_id", "Missing: Google sends one with every lead."))
    if errors:
        raise ValidationFailed(errors)
    attribution = {
        "campaign": _text(payload.get("campaign_id")),
        "adset": _text(payload.get("adgroup_id")),
        "ad": _text(payload.get("creative_id")),
        "form": _text(payload.get("form_id")),
        "gclid": _text(payload.get("gcl_id"), 500),
        "asset_group": _text(payload.get("asset_group_id")),
    }
    return ParsedLead(
        lead_id=_text(payload.get("lead_id"), 200),
        values=values,
        attribution={key: value for key, value in attribution.items() if value},
        is_test=bool(payload.get("is_test")),
    )


def _generic(source: LeadSource, payload: dict) -> ParsedLead:
    mapping = source.mapping or {}
    values: dict[str, Any] = {}
    for path in mapping.get("fields") or {}:
        value = path_get(payload, path)
        if value is not None:
            values[path] = value
    attribution = {}
    for key, path in (mapping.get("attribution") or {}).items():
        text = _text(path_get(payload, path))
        if text:
            attribution[key] = text
    lead_id = None
    if mapping.get("lead_id"):
        lead_id = _text(path_get(payload, mapping["lead_id"]), 200) or None
        if lead_id is None:
            raise ValidationFailed(
                [FieldError(mapping["lead_id"], "The lead id is missing at this path.")]
            )
    return ParsedLead(lead_id=lead_id, values=values, attribution=attribution)


# --- mapping answers to contact fields ---------------------------------------------------------


def field_map(source: LeadSource) -> dict[str, str]:
    """The source's answer name → target: the network's standard names, then the source's
    own mapping (which may add names or switch a standard one off with '')."""
    return {**STANDARD_FIELDS[source.format], **((source.mapping or {}).get("fields") or {})}


def origin_name(source: LeadSource, name: str) -> str:
    prefix = ORIGIN_PREFIX[source.format]
    return f"{prefix}.{name}" if prefix else name


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        value = next((item for item in value if _text(item, MAX_ANSWER_LENGTH)), "")
    return _text(value, MAX_ANSWER_LENGTH)


def _facebook_birth_date(text: str) -> str:
    """Meta's lead forms give a date of birth as MM/DD/YYYY: as ISO text for the contact.
    Anything else (an integrator that already wrote ISO) is left for the contact's own
    check, which names it if it is no date."""
    try:
        return dt.datetime.strptime(text, "%m/%d/%Y").date().isoformat()
    except ValueError:
        return text


def _split_name(full: str) -> tuple[str, str]:
    parts = full.split(None, 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (full, "")


def map_lead(source: LeadSource, parsed: ParsedLead) -> MappedLead:
    """Turn a parsed lead into contact data with the source's mapping; every answer also
    stays on the timeline (``answers``) whether mapped or not."""
    targets = field_map(source)
    contact: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    tags: list[str] = []
    origins: dict[str, str] = {}
    answers: dict[str, Any] = {}
    for name, value in parsed.values.items():
        answers[name] = value if isinstance(value, list | str) else _text(value, MAX_ANSWER_LENGTH)
        target = targets.get(name, "")
        if not target:
            continue
        if target == "tags":
            items = value if isinstance(value, list) else [value]
            tags += [_text(item, 60) for item in items if _text(item, 60)]
            continue
        if target.startswith("custom_fields."):
            key = target.removeprefix("custom_fields.")
            if key not in custom and value not in (None, "", []):
                custom[key] = value
                origins[target] = origin_name(source, name)
            continue
        text = _scalar(value)
        if not text or target in contact:
            continue
        if target == "full_name":
            first, last = _split_name(text)
            contact.setdefault("first_name", first)
            contact.setdefault("last_name", last)
            for part in ("first_name", "last_name"):
                origins.setdefault(part, origin_name(source, name))
            continue
        contact[target] = text
        origins[target] = origin_name(source, name)
    for name in ("first_name", "last_name"):
        # A network's name may be longer than a contact's: keep it whole on the timeline.
        if name in contact:
            contact[name] = contact[name][: TEXT_LIMITS[name]]
    if source.format == SourceFormat.FACEBOOK and "date_of_birth" in contact:
        contact["date_of_birth"] = _facebook_birth_date(contact["date_of_birth"])
    if custom:
        contact["custom_fields"] = custom
    all_tags = [*(source.default_tags or []), *tags]
    if all_tags:
        contact["tags"] = list(dict.fromkeys(all_tags))
    network, medium, channel = NETWORK.get(source.format, (source.name, "webhook", "other"))
    contact["source"] = parsed.attribution.get("source") or network[: TEXT_LIMITS["source"]]
    contact["medium"] = parsed.attribution.get("medium") or medium
    contact["channel"] = channel
    if parsed.attribution.get("campaign"):
        contact["campaign"] = parsed.attribution["campaign"][: TEXT_LIMITS["campaign"]]
    return MappedLead(contact=contact, answers=answers, origins=origins)


def errors_named_for_sender(
    errors: Iterable[FieldError], origins: Mapping[str, str]
) -> list[FieldError]:
    """Contact-field errors renamed after the payload field they came from."""
    renamed = []
    for error in errors:
        origin = origins.get(error.field)
        if origin:
            renamed.append(FieldError(origin, f"{error.message} (mapped to {error.field})"))
        elif error.field == "email" and "phone" in error.message:
            renamed.append(
                FieldError("email", "No email or phone number found in the lead's answers.")
            )
        else:
            renamed.append(error)
    return renamed


# --- checking a source's mapping -------------------------------------------------------------


def mapping_clean(
    source_format: str, mapping: Any, custom_fields: list[CustomField]
) -> dict[str, Any]:
    """A lead source's mapping, checked: ``fields`` ({path or answer name: target}),
    ``lead_id`` (a path; generic only) and ``attribution`` ({campaign|ad|adset|form|medium:
    path}; generic only). Names every bad entry at once."""
    if mapping in (None, ""):
        return {}
    if not isinstance(mapping, dict):
        raise ValidationFailed([FieldError("mapping", "Must be a JSON object.")])
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    allowed = {"fields", "lead_id", "attribution"}
    for key in mapping:
        if key not in allowed:
            errors.append(
                FieldError(f"mapping.{key}", "Unknown key (fields, lead_id, attribution).")
            )
    keys = {definition.key for definition in custom_fields}
    fields = mapping.get("fields") or {}
    if not isinstance(fields, dict):
        errors.append(FieldError("mapping.fields", "Must be an object of path: target."))
        fields = {}
    if len(fields) > MAX_MAPPED_FIELDS:
        errors.append(FieldError("mapping.fields", f"At most {MAX_MAPPED_FIELDS} entries."))
    clean_fields: dict[str, str] = {}
    for path, target in fields.items():
        name = f"mapping.fields.{path}"
        if not isinstance(path, str) or not path.strip() or len(path) > MAX_PATH_LENGTH:
            errors.append(FieldError(name, "A path or answer name is required."))
            continue
        if not isinstance(target, str):
            errors.append(FieldError(name, "The target must be text."))
            continue
        if target and target not in CONTACT_TARGETS and not target.startswith("custom_fields."):
            errors.append(
                FieldError(
                    name,
                    f"Unknown target '{target[:60]}': use one of {', '.join(CONTACT_TARGETS)} "
                    "or custom_fields.<key>.",
                )
            )
            continue
        if (
            target.startswith("custom_fields.")
            and target.removeprefix("custom_fields.") not in keys
        ):
            errors.append(FieldError(name, f"No custom field '{target[14:][:60]}' exists."))
            continue
        clean_fields[path.strip()] = target
    if clean_fields:
        clean["fields"] = clean_fields
    generic = source_format == SourceFormat.GENERIC
    lead_id = mapping.get("lead_id")
    if lead_id not in (None, ""):
        if not generic:
            errors.append(FieldError("mapping.lead_id", "Only generic sources set a lead id path."))
        elif not isinstance(lead_id, str) or len(lead_id) > MAX_PATH_LENGTH:
            errors.append(FieldError("mapping.lead_id", "Must be a dotted path."))
        else:
            clean["lead_id"] = lead_id.strip()
    attribution = mapping.get("attribution") or {}
    if attribution:
        if not generic:
            errors.append(
                FieldError("mapping.attribution", "Only generic sources map attribution paths.")
            )
        elif not isinstance(attribution, dict):
            errors.append(FieldError("mapping.attribution", "Must be an object of key: path."))
        else:
            for key, path in attribution.items():
                if key not in ATTRIBUTION_KEYS:
                    errors.append(
                        FieldError(
                            f"mapping.attribution.{key}",
                            f"Use one of {', '.join(ATTRIBUTION_KEYS)}.",
                        )
                    )
                elif not isinstance(path, str) or not path or len(path) > MAX_PATH_LENGTH:
                    errors.append(FieldError(f"mapping.attribution.{key}", "Must be a path."))
            if not any(e.field.startswith("mapping.attribution") for e in errors):
                clean["attribution"] = {key: path.strip() for key, path in attribution.items()}
    if errors:
        raise ValidationFailed(errors)
    return clean


def body_json(body: bytes) -> tuple[Any, str]:
    """The parsed body and '' , or None and why it could not be read (not UTF-8, not JSON,
    nested too deep, or a value no database can store as text, named by its path)."""
    try:
        return json_parse(body), ""
    except ValidationFailed as failure:
        return None, "; ".join(
            error.message if error.field == "body" else f"{error.field}: {error.message}"
            for error in failure.errors
        )
