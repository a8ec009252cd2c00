"""Normalisers for values every entry point shares: email, phone, country.

Each returns the canonical form or raises ValidationFailed naming the field. They use
libraries made for the job (email-validator, phonenumbers, pycountry): see
docs/decisions/0003-validation-libraries.md.
"""

import json
import re
from functools import lru_cache
from typing import Any

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from leadflow.core.errors import FieldError, ValidationFailed

# An unquoted ASCII local part (RFC 5322 dot-atom).
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@lru_cache(maxsize=65536)
def _domain_plain(domain: str) -> bool:
    """Whether email-validator accepts this domain as it is, but for its case (asked once
    per domain: most of its work is the domain's, and domains repeat)."""
    try:
        result = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return False
    return result.domain == domain.lower() and result.ascii_domain == result.domain


def email_normalise(value: str, *, field: str = "email") -> str:
    """Lower-cased, syntax-checked email (no DNS look-up: capture must not wait on DNS).

    A plain ASCII address (a dot-atom local part at a domain email-validator accepts
    unchanged) is checked without a full call: the library's answer would be the same
    (tests/core/test_validation.py compares them); the rest, and every error message, come
    from the library."""
    raw = (value or "").strip()
    if len(raw) > 254:
        raise ValidationFailed([FieldError(field, "An email address is at most 254 characters.")])
    local, at, domain = raw.rpartition("@")
    if at and _DOT_ATOM.fullmatch(local) and _domain_plain(domain):
        return raw.lower()
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationFailed([FieldError(field, str(error))]) from None
    return result.normalized.lower()


def phone_normalise(value: str, *, default_country: str, field: str = "phone") -> str:
    """The number in E.164; local numbers are read in the workspace's default country."""
    raw = (value or "").strip()
    try:
        number = phonenumbers.parse(raw, default_country.upper() or None)
    except phonenumbers.NumberParseException:
        raise ValidationFailed([FieldError(field, "This is not a phone number.")]) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed([FieldError(field, "This phone number is not valid.")])
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=512)
def _country_lookup(value: str) -> str | None:
    try:
        country = pycountry.countries.lookup(value)
    except LookupError:
        return None
    return country.alpha_2


def country_normalise(value: str, *, field: str = "country") -> str:
    """ISO 3166 alpha-2 code from a code or a country name ("de", "Germany" -> "DE")."""
    raw = (value or "").strip()
    if not raw:
        return ""
    code = _country_lookup(raw)
    if code is None:
        raise ValidationFailed([FieldError(field, f"Unknown country '{raw[:60]}'.")])
    return code


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower() if email and "@" in email else ""


# --- untrusted text and JSON ----------------------------------------------------------------

# Deeper JSON than this is refused: no field LeadFlow reads is nested more than a few levels,
# and deep nesting only costs recursion (Python's parser fails with RecursionError near 1,000).
MAX_JSON_DEPTH = 32
# At most this many bad strings are named in one answer (the rest would say the same).
MAX_TEXT_ERRORS = 20


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can.

    A NUL character (PostgreSQL text refuses it) or an unpaired surrogate (not Unicode: it
    has no UTF-8 form, so no database, log or email can carry it). Both only reach LeadFlow
    from a crafted request: JSON escapes (``\\u0000``, ``\\ud800``) or ``%00`` in a form."""
    if "\x00" in value:
        return "Contains a NUL character, which text may not hold."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Contains an unpaired surrogate: not valid Unicode text."
    return None


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:20]} is too large")
    return number


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def json_parse(raw: bytes | str, *, field: str = "body", check_text: bool = True) -> Any:
    """Parse an untrusted JSON body, or raise ValidationFailed naming what is wrong.

    Guarantees for what it returns: nested at most MAX_JSON_DEPTH levels; numbers are
    finite (no NaN, Infinity or 1e400, which JSON does not allow but Python's parser
    takes); with ``check_text``, no key or string holds a NUL character or an unpaired
    surrogate (each such value is named by its path, ``fields.first_name``, ``events.0.url``).
    An endpoint that reports bad strings per item itself (the event batch) passes
    ``check_text=False``."""
    what = "The body" if field == "body" else "The value"  # a parameter is not the body
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise ValidationFailed([FieldError(field, f"{what} is not UTF-8 text.")]) from None
    try:
        value = json.loads(text, parse_float=_finite_float, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValidationFailed(
            [FieldError(field, f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")]
        ) from None
    except ValueError as error:
        message = getattr(error, "msg", None) or str(error)
        raise ValidationFailed(
            [FieldError(field, f"{what} is not valid JSON ({message[:200]}).")]
        ) from None
    errors = _json_problems(value, check_text=check_text)
    if errors:
        raise ValidationFailed(errors)
    return value


def _json_problems(value: Any, *, check_text: bool) -> list[FieldError]:
    """Walk without recursion: the depth is what is being checked."""
    errors: list[FieldError] = []
    stack: list[tuple[Any, tuple, int]] = [(value, (), 0)]
    while stack and len(errors) < MAX_TEXT_ERRORS:
        item, path, depth = stack.pop()
        name = ".".join(str(part) for part in path) or "body"
        if isinstance(item, dict | list) and depth >= MAX_JSON_DEPTH:
            errors.append(
                FieldError(name, f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
            )
            return errors
        if isinstance(item, dict):
            for key, child in item.items():
                problem = check_text and text_problem(key)
                if problem:
                    errors.append(FieldError(_printable(".".join([*map(str, path), key])), problem))
                    continue
                stack.append((child, (*path, key), depth + 1))
        elif isinstance(item, list):
            stack.extend((child, (*path, index), depth + 1) for index, child in enumerate(item))
        elif check_text and isinstance(item, str):
            problem = text_problem(item)
            if problem:
                errors.append(FieldError(name, problem))
    errors.sort(key=lambda error: error.field)
    return errors


def _printable(name: str) -> str:
    """A field name that can itself be shown and stored: NUL and surrogates escaped."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
