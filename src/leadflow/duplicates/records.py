"""A contact's values in the one form the duplicate finder compares: `Person`.

`person_normalise` guarantees that two ways of writing the same fact give the same value:
case, accents, punctuation and spacing never matter; an email's `+tag` and the dots of its
local part are dropped (`jon.smith+news@x.com` ~ `jonsmith@x.com`); phones become E.164
digits; dates become `YYYY-MM-DD` from a date or the usual written forms; street words are
spelled out (`St.` -> `street`, `Apt` -> `apartment`); a company loses its legal form
(`Acme Inc.` ~ `ACME, LLC`). A missing value is always `''`, never None, so comparisons and
blocking keys can tell "missing" from "different" by one test.

Pure Python (no Django): the benchmark and the whole-workspace scan both call it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
import pycountry

from leadflow.duplicates.name_variants import canonicals_of

# Letters NFKD does not split into a base letter and a mark.
_FOLD = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
    }
)
# Apostrophes join (O'Brien -> obrien); any other non-alphanumeric separates words.
_APOSTROPHES = re.compile(r"['’`´]")
_NON_WORD = re.compile(r"[^a-z0-9]+")

# Titles and generational suffixes say nothing about who a person is.
_NAME_NOISE = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "dame",
        "jr",
        "sr",
        "ii",
        "iii",
        "iv",
        "phd",
        "md",
        "dds",
        "dvm",
        "esq",
    ]
)

# Spelled-out forms of street words, so "12 Main St." and "12 main street" read the same.
_STREET_WORDS = {
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "rd": "road",
    "dr": "drive",
    "ln": "lane",
    "blvd": "boulevard",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "hwy": "highway",
    "pkwy": "parkway",
    "cir": "circle",
    "ter": "terrace",
    "trl": "trail",
    "cres": "crescent",
    "mt": "mount",
    "apt": "apartment",
    "appt": "apartment",
    "unit": "apartment",
    "ste": "suite",
    "fl": "floor",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "ne": "northeast",
    "nw": "northwest",
    "se": "southeast",
    "sw": "southwest",
}

# Legal forms: "Acme Inc." and "ACME, LLC" are one company to a person reading them.
_COMPANY_FORMS = frozenset(
    [
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "lp",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "kg",
        "ug",
        "mbh",
        "se",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "asa",
        "aps",
        "pty",
        "pvt",
        "group",
        "holdings",
        "the",
    ]
)

# How custom identifying fields are compared (and so normalised).
IDENTIFYING_TYPES = ("exact", "digits", "fuzzy")


@dataclass(slots=True, frozen=True)
class Person:
    """A contact's normalised values; `''` is a missing value.

    `phone` is E.164 without the `+` (digits only) or, when no country could place the
    number, its digits when there are at least seven. `postal_area` is the part of the
    postal code that names an area (a UK outward code, else the first three characters).
    `first_roots` holds the first name and the formal names it is a nickname of
    (`bill` -> `bill`, `william`, ...): two names are nickname-equivalent when their roots
    meet. `extra` holds the identifying custom fields as sorted `(key, value)` pairs.
    """

    id: int
    first: str = ""
    last: str = ""
    email: str = ""
    email_local: str = ""
    email_domain: str = ""
    phone: str = ""
    dob: str = ""
    street: str = ""
    street_number: str = ""
    city: str = ""
    region: str = ""
    postal: str = ""
    postal_area: str = ""
    country: str = ""
    company: str = ""
    company_domain: str = ""
    first_roots: frozenset[str] = frozenset()
    last_roots: frozenset[str] = frozenset()
    extra: tuple[tuple[str, str], ...] = ()


@lru_cache(maxsize=262144)  # names, streets and companies repeat: a scan normalises each once
def text_fold(value: Any) -> str:
    """Lower case, accents folded, apostrophes dropped, other punctuation a single space."""
    if value is None:
        return ""
    text = str(value).casefold()
    if not text.isascii():  # most values are ASCII: no need to decompose them
        text = unicodedata.normalize("NFKD", text.translate(_FOLD))
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = _APOSTROPHES.sub("", text)
    return _NON_WORD.sub(" ", text).strip()


# Digits in a name are a scanner's or a keyboard's misreading of the letter they look like.
_NAME_DIGITS = str.maketrans({"0": "o", "1": "l", "3": "e", "5": "s", "$": "s", "@": "a"})


@lru_cache(maxsize=262144)  # names, streets and companies repeat: a scan normalises each once
def name_normalise(value: Any) -> str:
    words = [
        w
        for w in text_fold(str(value or "").translate(_NAME_DIGITS)).split()
        if w not in _NAME_NOISE
    ]
    return " ".join(words)


@lru_cache(maxsize=65536)
def name_roots(name: str) -> frozenset[str]:
    """The name and the formal names it may stand for (`peggy` -> margaret, ...), and
    those it is itself a formal name of when the table lists it both ways."""
    if not name:
        return frozenset()
    first_word = name.split()[0]
    return frozenset({name, first_word} | canonicals_of(first_word))


def email_parts(value: Any) -> tuple[str, str, str]:
    """(email, normalised local part, domain): `Jon.Smith+news@X.com` ->
    (`jon.smith+news@x.com`, `jonsmith`, `x.com`)."""
    email = str(value or "").strip().lower()
    if "@" not in email:
        return "", "", ""
    local, _, domain = email.rpartition("@")
    local = local.split("+", 1)[0].replace(".", "")
    if not local or not domain:
        return "", "", ""
    return email, local, domain


_EXTENSION = re.compile(r"(?:ext\.?|x|#)\s*\d+\s*$", re.IGNORECASE)
# Letters a scanner reads for digits ("O" for 0, "l" for 1) in a phone number.
_PHONE_LETTERS = str.maketrans("OoIl|", "00111")
_NOT_DIGIT = re.compile(r"\D")


def phone_digits(value: Any, country: str) -> str:
    """E.164 digits (no `+`); a number no country places keeps its digits (>= 7 of them)."""
    raw = str(value or "").strip().translate(_PHONE_LETTERS)
    if not raw:
        return ""
    raw = _EXTENSION.split(raw, 1)[0]
    digits = _NOT_DIGIT.sub("", raw)
    if raw.startswith("+") and 8 <= len(digits) <= 15 and raw[1:].isdigit():
        return digits  # already E.164, as LeadFlow stores phones
    try:
        number = phonenumbers.parse(raw, country or None)
    except phonenumbers.NumberParseException:
        return digits if len(digits) >= 7 else ""
    if phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    return digits if len(digits) >= 7 else ""


_DATE_YMD = re.compile(r"^(\d{4})[-/. ]?(\d{1,2})[-/. ]?(\d{1,2})(?:$|[ T])")
_DATE_XYY = re.compile(r"^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_DATE_WORDS = re.compile(r"[a-z]+|\d+")


def _date_in_words(text: str) -> str:
    """ "March 4, 1985", "4 Mar 1985", "1985 Mar 4" -> `1985-03-04`; '' otherwise."""
    words = _DATE_WORDS.findall(text.lower())
    months = [_MONTHS[w] for w in words if w in _MONTHS]
    numbers = [int(w) for w in words if w.isdigit()]
    years = [n for n in numbers if n >= 1000]
    days = [n for n in numbers if n < 100]
    if len(months) != 1 or len(years) != 1 or len(days) != 1:
        return ""
    return _date_text(years[0], months[0], days[0])


def _date_text(year: int, month: int, day: int) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return ""


def date_normalise(value: Any, country: str = "") -> str:
    """`YYYY-MM-DD` from a date, an ISO string or `DD.MM.YYYY` / `MM/DD/YYYY` (month first
    with slashes in the US or an unknown country, when the first number can be a month);
    '' when unreadable."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if match := _DATE_YMD.match(text):
        return _date_text(int(match[1]), int(match[2]), int(match[3]))
    if any(c.isalpha() for c in text):
        return _date_in_words(text)
    if match := _DATE_XYY.match(text):
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        if "/" in text and country in ("US", "") and first <= 12:
            return _date_text(year, first, second)
        if second <= 12:
            return _date_text(year, second, first)
        return _date_text(year, first, second)
    return ""


@lru_cache(maxsize=262144)  # names, streets and companies repeat: a scan normalises each once
def street_normalise(value: Any) -> str:
    words = text_fold(str(value or "").replace("#", " apt ")).split()
    return " ".join(_STREET_WORDS.get(w, w) for w in words)


def street_number(street: str) -> str:
    """The first number in the street line (the house number, in most countries' forms)."""
    match = re.search(r"\d+", street)
    return match[0] if match else ""


@lru_cache(maxsize=1024)
def country_code(value: str) -> str:
    text = value.strip()
    if not text:
        return ""
    if len(text) == 2 and text.isalpha():
        return text.upper()
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return ""


def postal_normalise(value: Any, country: str) -> tuple[str, str]:
    """(postal code, its area): upper case without spaces; ZIP+4 kept to its five digits;
    a UK-style code's area is its outward part, any other's the first three characters."""
    raw = str(value or "").strip().upper()
    code = re.sub(r"[^0-9A-Z]", "", raw)
    if not code:
        return "", ""
    if re.fullmatch(r"\d{5}-?\d{4}", raw.replace(" ", "")):
        code = code[:5]  # ZIP+4: the extra four digits are often left out
    if country in ("GB", "IE", "CA") or (
        not country and re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}", code)
    ):
        area = code[:-3] if len(code) > 4 else code
    else:
        area = code[:3]
    return code, area


@lru_cache(maxsize=262144)  # names, streets and companies repeat: a scan normalises each once
def company_normalise(value: Any) -> str:
    words = text_fold(str(value or "").replace("&", " and ")).split()
    while words and words[-1] in _COMPANY_FORMS:
        words.pop()
    while words and words[0] == "the":
        words.pop(0)
    return " ".join(words)


def domain_normalise(value: Any) -> str:
    text = str(value or "").strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/", 1)[0].split(":", 1)[0]
    return text.removeprefix("www.")


def identifying_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "digits":
        return re.sub(r"\D", "", str(value))
    return text_fold(value).replace(" ", "") if kind == "exact" else text_fold(value)


def person_normalise(
    values: Mapping[str, Any], *, identifying: Mapping[str, str] | None = None
) -> Person:
    """The contact's values as the finder compares them (see the module's docstring).

    Any key may be missing, None or ''. `identifying` maps a custom field's key to how it is
    compared ("exact", "digits" or "fuzzy"); other custom fields are ignored."""
    country = country_code(str(values.get("country") or ""))
    first = name_normalise(values.get("first_name"))
    last = name_normalise(values.get("last_name"))
    email, email_local, email_domain = email_parts(values.get("email"))
    street = street_normalise(values.get("street_address"))
    postal, postal_area = postal_normalise(values.get("postal_code"), country)
    extra: list[tuple[str, str]] = []
    if identifying:
        custom = values.get("custom_fields") or {}
        for key in sorted(identifying):
            normalised = identifying_value(custom.get(key), identifying[key])
            if normalised:
                extra.append((key, normalised))
    return Person(
        id=int(values["id"]),
        first=first,
        last=last,
        email=email,
        email_local=email_local,
        email_domain=email_domain,
        phone=phone_digits(values.get("phone"), country),
        dob=date_normalise(values.get("date_of_birth"), country),
        street=street,
        street_number=street_number(street),
        city=text_fold(values.get("city")),
        region=text_fold(values.get("region")),
        postal=postal,
        postal_area=postal_area,
        country=country,
        company=company_normalise(values.get("company_name")),
        company_domain=domain_normalise(values.get("company_domain")),
        first_roots=name_roots(first),
        last_roots=name_roots(last),
        extra=tuple(extra),
    )
