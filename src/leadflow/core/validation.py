"""Normalisers for values every entry point shares: email, phone, country.

Each returns the canonical form or raises ValidationFailed naming the field. They use
libraries made for the job (email-validator, phonenumbers, pycountry): see
docs/decisions/0003-validation-libraries.md.
"""

import re
from functools import lru_cache

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
