"""Field-by-field comparison of candidate pairs into agreement levels (the model's gammas).

`pairs_compare` guarantees, per pair and comparison, one level: -1 when either side lacks
the value, 0 when the values differ, and 1.. for increasing agreement (the names in
`Comparison.levels`, weakest first). It compares whole columns at once: string similarity
through rapidfuzz's `cpdist` (C++, one call per column) and equality through numpy, so a
scan's millions of pairs never go through a Python loop per pair and field, except the
names' relation test (nickname, scanner's misreading, nickname with a slip: `_relation`),
which runs only on the names spelling left open, and crosswise only where the other name
agrees crosswise.

Correlated facts are counted once, not twice (the model multiplies independent evidence):
- a swapped pair of names (first <-> last) is compared crosswise and scored by the
  `names_swapped` comparison; the first and last name levels then hold the crosswise levels;
- a city agreeing with an equal postal code is recorded as missing (-1): within one postal
  code the city agrees for everyone, so it tells nothing more. A city that *disagrees*
  despite an equal postal code still counts.
- email addresses made of the names (`jon.smith87@...` / `jonsmith@...`) that are not one
  address are recorded as missing: they agree because the names do;
- different house numbers make streets "different" however similar the rest reads
  ("12 Main Street" / "14 Main Street" are neighbours, not one address).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.process import cpdist

from leadflow.duplicates.name_variants import one_edit_keys, variant_keys
from leadflow.duplicates.records import Person, name_roots

MISSING = -1

# Level names for names: the five the issue asks for, weakest first.
NAME_LEVELS = ("different", "similar", "very similar", "nicknames", "equal")


@dataclass(slots=True, frozen=True)
class Comparison:
    """One comparison of a pair: `label` is its plural for sentences ("first names"),
    `noun` its singular ("first name"); `levels[g]` names level g (0 = different)."""

    name: str
    label: str
    noun: str
    levels: tuple[str, ...]
    kind: str = ""  # for custom fields: exact | digits | fuzzy


BASE_COMPARISONS = (
    Comparison("first_name", "first names", "first name", NAME_LEVELS),
    Comparison("last_name", "last names", "last name", NAME_LEVELS),
    Comparison(
        "email",
        "emails",
        "email",
        ("different", "similar local parts", "same local part", "equal"),
    ),
    Comparison("phone", "phones", "phone", ("different", "same last 7 digits", "equal")),
    Comparison(
        "date_of_birth",
        "dates of birth",
        "date of birth",
        ("different", "two of three parts equal", "day and month swapped", "equal"),
    ),
    Comparison("street", "streets", "street", ("different", "similar", "very similar")),
    Comparison("city", "cities", "city", ("different", "similar", "equal")),
    Comparison("postal_code", "postal codes", "postal code", ("different", "same area", "equal")),
    Comparison("company", "companies", "company", ("different", "similar", "equal")),
    Comparison("names_swapped", "names", "names", ("in order", "swapped")),
)


def comparisons_for(identifying: Mapping[str, str] | None = None) -> list[Comparison]:
    """The comparisons in their fixed order: the base ones (first_name, last_name, email,
    phone, date_of_birth, street, city, postal_code, company, names_swapped), then
    `custom:<key>` per identifying custom field, sorted by key."""
    comparisons = list(BASE_COMPARISONS)
    for key in sorted(identifying or {}):
        kind = identifying[key]
        levels = ("different", "similar", "equal") if kind == "fuzzy" else ("different", "equal")
        comparisons.append(Comparison(f"custom:{key}", f"{key} values", key, levels, kind))
    return comparisons


class PersonTable:
    """Persons as columns (numpy object arrays), so pairs are gathered by index."""

    ATTRIBUTES = (
        "first",
        "last",
        "email",
        "email_local",
        "email_domain",
        "phone",
        "dob",
        "street",
        "street_number",
        "city",
        "postal",
        "postal_area",
        "company",
        "company_domain",
    )

    def __init__(self, persons: Sequence[Person], *, columns=None, extra=None) -> None:
        if columns is not None:
            self.columns, self.extra = columns, extra
            return
        self.columns = {}
        for name in self.ATTRIBUTES:
            column = np.empty(len(persons), dtype=object)
            column[:] = [getattr(p, name) for p in persons]
            self.columns[name] = column
        for name in ("first", "last"):
            self.columns[f"{name}_length"] = np.fromiter(
                map(len, self.columns[name]), dtype=np.int32, count=len(persons)
            )
            self.columns[f"{name}_skeleton"] = _strings(
                [ocr_skeleton(value) for value in self.columns[name]]
            )
        self.columns["phone7"] = _strings([p.phone[-7:] for p in persons])
        # A national number and its E.164 form end alike: "4155550123" / "14155550123".
        self.columns["phone10"] = _strings(
            [p.phone[-10:] if len(p.phone) >= 10 else p.phone for p in persons]
        )
        self.columns["email_digits"] = _strings(
            [_NOT_DIGIT.sub("", p.email_local) for p in persons]
        )
        self.columns["email_letters"] = _strings(
            [_NOT_LETTER.sub("", p.email_local) for p in persons]
        )
        self.columns["email_naming"] = np.fromiter(
            (email_naming(p) for p in persons), dtype=np.int8, count=len(persons)
        )
        self.extra = [dict(p.extra) for p in persons]

    def take(self, index: np.ndarray) -> PersonTable:
        columns = {name: column[index] for name, column in self.columns.items()}
        return PersonTable((), columns=columns, extra=[self.extra[i] for i in index])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]


_NOT_LETTER = re.compile(r"[^a-z]")
_NOT_DIGIT = re.compile(r"[^0-9]")


def _name_forms(person: Person) -> frozenset[str]:
    """The letters an address made of the person's names would have: `jonsmith`,
    `smithjon`, `jsmith`, `jon`, ... from the names as written and, for a nickname, the
    formal name it stands for (Mike: `michaelsmith`); either name may be the given one
    (a record with its names swapped keeps the address it had)."""
    first, last = person.first.replace(" ", ""), person.last.replace(" ", "")
    forms: set[str] = set()
    for given_roots, given, surname in (
        (person.first_roots, first, last),
        (person.last_roots, last, first),
    ):
        for name in {given} | {root.replace(" ", "") for root in given_roots}:
            if not name:
                continue
            forms |= {name, name + surname, surname + name}
            if surname:
                forms |= {name[0] + surname, surname + name[0]}
                forms |= {name + surname[0], surname[0] + name}
    forms.discard("")
    return frozenset(forms)


def email_naming(person: Person) -> int:
    """2 when the email's local part is exactly made of the person's names (`jon.smith87`,
    `smithj`, `jsmith`, `jon`), 1 when it is give or take a slip, 0 otherwise: two such
    addresses agree because the names do, not as a second fact."""
    letters = _NOT_LETTER.sub("", person.email_local)
    if len(letters) < 2 or not (person.first or person.last):
        return 0
    forms = _name_forms(person)
    if letters in forms:
        return 2
    return int(any(JaroWinkler.normalized_similarity(letters, form) >= 0.9 for form in forms))


def email_is_named(person: Person) -> bool:
    """Whether the email's local part is the person's name, give or take a slip."""
    return email_naming(person) > 0


def _strings(values: list[str]) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _similarity(left: np.ndarray, right: np.ndarray, scorer) -> np.ndarray:
    if len(left) == 0:
        return np.zeros(0, dtype=np.float32)
    return cpdist(left.tolist(), right.tolist(), scorer=scorer, dtype=np.float32)


def _jaro_winkler(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return _similarity(left, right, JaroWinkler.normalized_similarity)


def _missing(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return (left == "") | (right == "")


def _name_levels(
    left: np.ndarray,
    right: np.ndarray,
    left_lengths: np.ndarray,
    right_lengths: np.ndarray,
    left_skeletons: np.ndarray,
    right_skeletons: np.ndarray,
    *,
    relate: bool = True,
) -> np.ndarray:
    equal = left == right
    similarity = _jaro_winkler(left, right)
    levels = np.zeros(len(left), dtype=np.int8)
    levels[similarity >= 0.85] = 1
    levels[similarity >= 0.92] = 2
    # One slip (a letter wrong, missing, extra or two swapped) in a short name costs
    # Jaro-Winkler more than the 'similar' bar: jose / iose 0.83, roy / rky 0.80.
    edits = _similarity(left, right, OSA.distance)
    # A scanner's misreading and a slip on top ("Ncol" / "Neil", "Pcteg" / "Peter").
    edits = np.minimum(edits, _similarity(left_skeletons, right_skeletons, OSA.distance))
    levels[(edits <= 1) & (levels < 1)] = 1
    # Two slips in a name of five letters or more (Bender / Bneeer, Brown / Fronw) still
    # read as one name.
    shorter = np.minimum(left_lengths, right_lengths)
    levels[(edits <= 2) & (shorter >= 5) & (levels < 1)] = 1
    # An initial stands for the name it begins ("J" / "John"): similar, not different.
    unlike = np.flatnonzero(levels < 1)
    initial = np.fromiter(
        (
            (len(a) == 1 and b[:1] == a) or (len(b) == 1 and a[:1] == b)
            for a, b in zip(left[unlike], right[unlike], strict=True)
        ),
        dtype=bool,
        count=len(unlike),
    )
    levels[unlike[initial]] = 1
    levels[equal] = 4
    levels[_missing(left, right)] = MISSING
    if relate:
        _relations_add(levels, left, right, np.ones(len(levels), dtype=bool))
    return levels


def _relations_add(
    levels: np.ndarray, left: np.ndarray, right: np.ndarray, rows: np.ndarray
) -> None:
    """Raise the levels of the chosen rows to what the names' relation says (`_relation`):
    the one test that runs per pair in Python, so only where spelling left it open."""
    unexplained = np.flatnonzero(rows & (levels >= 0) & (levels < 2))
    relation = np.fromiter(
        map(_relation, left[unexplained], right[unexplained]),
        dtype=np.int8,
        count=len(unexplained),
    )
    levels[unexplained] = np.maximum(levels[unexplained], relation)


# Letters and pairs a scanner confuses, each mapped to one stand-in.
_OCR_PAIRS = (("rn", "m"), ("cl", "d"), ("vv", "w"), ("ii", "u"))
_OCR_LETTERS = str.maketrans({"c": "e", "b": "h", "0": "o", "1": "l", "5": "s", "8": "h"})


@lru_cache(maxsize=65536)
def ocr_skeleton(name: str) -> str:
    """The name with the letters OCR confuses merged: "rnartin" and "martin" read alike."""
    for pair, single in _OCR_PAIRS:
        name = name.replace(pair, single)
    return name.translate(_OCR_LETTERS)


def _relation(a: str, b: str) -> int:
    """The level two unequal names reach beyond their spelling: 3 for nicknames of one name
    (the table, or one cut short), 2 for a scanner's misreading, 1 for a nickname with a
    slip in it ("Rihc" / Richard, "Dna" / Daniel); else 0."""
    if not name_roots(a).isdisjoint(name_roots(b)) or _shortened(a, b):
        return 3
    if ocr_skeleton(a) == ocr_skeleton(b):
        return 2
    if not variant_keys(a).isdisjoint(one_edit_keys(b)) or not variant_keys(b).isdisjoint(
        one_edit_keys(a)
    ):
        return 1
    return 0


def _shortened(a: str, b: str) -> bool:
    """One name is the other cut short (Brad / Bradley, Alex / Alexandra): a nickname the
    table may not list."""
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return len(short) >= 3 and long.startswith(short)


def _names(left: PersonTable, right: PersonTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def levels(one: str, other: str, *, relate: bool = True) -> np.ndarray:
        return _name_levels(
            left[one],
            right[other],
            left[f"{one}_length"],
            right[f"{other}_length"],
            left[f"{one}_skeleton"],
            right[f"{other}_skeleton"],
            relate=relate,
        )

    first, last = levels("first", "first"), levels("last", "last")
    # Crosswise, a nickname or misreading matters only when the other name agrees
    # crosswise too (a swap needs both): spelling first, relations where they can count.
    first_x = levels("first", "last", relate=False)
    last_x = levels("last", "first", relate=False)
    spelled_first_x, spelled_last_x = first_x >= 1, last_x >= 1
    _relations_add(first_x, left["first"], right["last"], spelled_last_x)
    _relations_add(last_x, left["last"], right["first"], spelled_first_x | (first_x >= 1))
    complete = (first >= 0) & (last >= 0) & (first_x >= 0) & (last_x >= 0)
    # Crosswise agreement wins when both names agree crosswise and agree more than straight.
    swapped = (
        complete
        & (first_x >= 1)
        & (last_x >= 1)
        & (first_x.astype(np.int16) + last_x > first.astype(np.int16) + last)
    )
    first = np.where(swapped, first_x, first)
    last = np.where(swapped, last_x, last)
    flag = np.where(complete, swapped.astype(np.int8), np.int8(MISSING))
    return first, last, flag


def _email(left: PersonTable, right: PersonTable) -> np.ndarray:
    same_local = left["email_local"] == right["email_local"]
    same_domain = left["email_domain"] == right["email_domain"]
    levels = np.zeros(len(same_local), dtype=np.int8)
    levels[_jaro_winkler(left["email_local"], right["email_local"]) >= 0.88] = 1
    levels[same_local] = 2
    levels[same_local & same_domain] = 3
    # Addresses made of the names agree whenever the names do (namesakes included): unless
    # they are one address, their agreement is not counted again.
    # A slip within one provider (jon.smith / jon.smiht) still counts; the same letters with
    # other digits or separators (jon.smith / jon_smith) are another person's mailbox.
    other_mailbox = (
        ~same_domain
        | (left["email_digits"] != right["email_digits"])
        | (left["email_letters"] == right["email_letters"])
    )
    naming_a, naming_b = left["email_naming"], right["email_naming"]
    # Two addresses each exactly made of its owner's names differ because the names do
    # (frederic_moreno@ / frederic_morel@): not a slip within one mailbox.
    other_mailbox |= (naming_a == 2) & (naming_b == 2)
    named = (naming_a > 0) & (naming_b > 0) & (levels >= 1) & (levels < 3) & other_mailbox
    levels[_missing(left["email"], right["email"]) | named] = MISSING
    return levels


def _phone(left: PersonTable, right: PersonTable) -> np.ndarray:
    levels = np.zeros(len(left["phone"]), dtype=np.int8)
    levels[left["phone7"] == right["phone7"]] = 1
    levels[(left["phone"] == right["phone"]) | (left["phone10"] == right["phone10"])] = 2
    levels[_missing(left["phone"], right["phone"])] = MISSING
    return levels


def _date_parts(dates: np.ndarray) -> np.ndarray:
    """(n, 3) year, month, day; zeros for a missing date."""
    text = np.asarray(dates.tolist() if len(dates) else [], dtype="U10")
    parts = np.zeros((len(text), 3), dtype=np.int32)
    present = text != ""
    if present.any():
        digits = np.char.replace(text[present], "-", "")
        numbers = digits.astype(np.int64)
        parts[present, 0] = numbers // 10000
        parts[present, 1] = numbers // 100 % 100
        parts[present, 2] = numbers % 100
    return parts


def _date_of_birth(left: PersonTable, right: PersonTable) -> np.ndarray:
    a, b = _date_parts(left["dob"]), _date_parts(right["dob"])
    same = a == b
    levels = np.zeros(len(a), dtype=np.int8)
    levels[same.sum(axis=1) >= 2] = 1
    transposed = same[:, 0] & (a[:, 1] == b[:, 2]) & (a[:, 2] == b[:, 1]) & ~same[:, 1]
    levels[transposed] = 2
    levels[same.all(axis=1)] = 3
    levels[_missing(left["dob"], right["dob"])] = MISSING
    return levels


def _street(left: PersonTable, right: PersonTable) -> np.ndarray:
    score = _similarity(left["street"], right["street"], fuzz.token_set_ratio)
    levels = np.zeros(len(score), dtype=np.int8)
    levels[score >= 75] = 1
    levels[score >= 90] = 2
    numbers_a, numbers_b = left["street_number"], right["street_number"]
    levels[(numbers_a != numbers_b) & (numbers_a != "") & (numbers_b != "")] = 0
    levels[_missing(left["street"], right["street"])] = MISSING
    return levels


def _city(left: PersonTable, right: PersonTable, postal: np.ndarray) -> np.ndarray:
    levels = np.zeros(len(postal), dtype=np.int8)
    levels[_jaro_winkler(left["city"], right["city"]) >= 0.9] = 1
    levels[left["city"] == right["city"]] = 2
    levels[_missing(left["city"], right["city"]) | ((postal == 2) & (levels >= 1))] = MISSING
    return levels


def _postal(left: PersonTable, right: PersonTable) -> np.ndarray:
    levels = np.zeros(len(left["postal"]), dtype=np.int8)
    levels[left["postal_area"] == right["postal_area"]] = 1
    levels[left["postal"] == right["postal"]] = 2
    levels[_missing(left["postal"], right["postal"])] = MISSING
    return levels


def _company(left: PersonTable, right: PersonTable) -> np.ndarray:
    names_a, names_b = left["company"], right["company"]
    domains_a, domains_b = left["company_domain"], right["company_domain"]
    names_missing = _missing(names_a, names_b)
    domains_missing = _missing(domains_a, domains_b)
    levels = np.zeros(len(names_a), dtype=np.int8)
    levels[(_similarity(names_a, names_b, fuzz.token_set_ratio) >= 85) & ~names_missing] = 1
    same_name = (names_a == names_b) & ~names_missing
    levels[same_name | ((domains_a == domains_b) & ~domains_missing)] = 2
    levels[names_missing & domains_missing] = MISSING
    return levels


def _custom(left: PersonTable, right: PersonTable, comparison: Comparison) -> np.ndarray:
    key = comparison.name.removeprefix("custom:")
    a = _strings([extra.get(key, "") for extra in left.extra])
    b = _strings([extra.get(key, "") for extra in right.extra])
    levels = np.zeros(len(a), dtype=np.int8)
    top = len(comparison.levels) - 1
    if comparison.kind == "fuzzy":
        levels[_jaro_winkler(a, b) >= 0.88] = 1
    levels[a == b] = top
    levels[_missing(a, b)] = MISSING
    return levels


def table_compare(
    left: PersonTable, right: PersonTable, comparisons: Sequence[Comparison]
) -> np.ndarray:
    """`pairs_compare` on tables already gathered by pair (the scan's fast path)."""
    n = len(left["first"])
    first, last, swapped = _names(left, right)
    postal = _postal(left, right)
    computed = {
        "first_name": first,
        "last_name": last,
        "names_swapped": swapped,
        "email": _email(left, right),
        "phone": _phone(left, right),
        "date_of_birth": _date_of_birth(left, right),
        "street": _street(left, right),
        "city": _city(left, right, postal),
        "postal_code": postal,
        "company": _company(left, right),
    }
    gammas = np.empty((n, len(comparisons)), dtype=np.int8)
    for k, comparison in enumerate(comparisons):
        if comparison.name.startswith("custom:"):
            gammas[:, k] = _custom(left, right, comparison)
        else:
            gammas[:, k] = computed[comparison.name]
    return gammas


def pairs_compare(
    lefts: Sequence[Person], rights: Sequence[Person], comparisons: Sequence[Comparison]
) -> np.ndarray:
    """Levels of each pair (lefts[i], rights[i]): shape (n, len(comparisons)), int8,
    -1 = missing on one side, 0 = different, 1.. = increasing agreement.

    Each distinct person is prepared once however many pairs it is in."""
    if len(lefts) != len(rights):
        raise ValueError("lefts and rights must pair up one to one")
    positions: dict[int, int] = {}
    distinct: list[Person] = []
    index = np.empty(len(lefts) + len(rights), dtype=np.int64)
    for i, person in enumerate((*lefts, *rights)):
        position = positions.setdefault(id(person), len(distinct))
        if position == len(distinct):
            distinct.append(person)
        index[i] = position
    table = PersonTable(distinct)
    return table_compare(
        table.take(index[: len(lefts)]), table.take(index[len(lefts) :]), comparisons
    )
