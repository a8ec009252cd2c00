"""What makes two benchmark records one person: the truth's pairs, and the rule every
pair of one person's records obeys (`has_evidence`: a reviewer could confirm them), with
the text helpers the generator and the rule share.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from dedupe_tables import NICKNAMES


def true_pairs(truth: dict[int, int]) -> set[tuple[int, int]]:
    """Every pair (smaller id, larger id) of records of the same person."""
    by_person: dict[int, list[int]] = {}
    for record_id, person_id in truth.items():
        by_person.setdefault(person_id, []).append(record_id)
    pairs = set()
    for ids in by_person.values():
        ids.sort()
        for index, left in enumerate(ids):
            for right in ids[index + 1 :]:
                pairs.add((left, right))
    return pairs


def ascii_fold(text: str) -> str:
    """Text without accents (Müller -> Muller, ß -> ss), as many forms and old systems keep it."""
    text = text.replace("ß", "ss").replace("æ", "ae").replace("œ", "oe").replace("ø", "o")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


NICKNAMES_FOLDED = {
    ascii_fold(formal).lower(): {ascii_fold(short).lower() for short in shorts}
    for formal, shorts in NICKNAMES.items()
}


def phone_valid(phone: str) -> bool:
    """Whether LeadFlow would store this E.164 number (it keeps only valid numbers)."""
    return phonenumbers.is_valid_number(phonenumbers.parse(phone))


def edit_distance(one: str, other: str) -> int:
    """Optimal string alignment distance: a transposition is one edit."""
    rows = [list(range(len(other) + 1))]
    for i in range(1, len(one) + 1):
        row = [i] + [0] * len(other)
        for j in range(1, len(other) + 1):
            cost = one[i - 1] != other[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and one[i - 1] == other[j - 2] and one[i - 2] == other[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def email_near(one: str, other: str) -> bool:
    """Same mailbox or one slip away: same domain, local parts equal without dots and
    +tags, or one keyboard slip apart."""
    if not one or not other:
        return False
    local, _, domain = one.partition("@")
    other_local, _, other_domain = other.partition("@")
    if domain != other_domain:
        return False
    bare = local.split("+")[0].replace(".", "")
    other_bare = other_local.split("+")[0].replace(".", "")
    return bare == other_bare or edit_distance(local, other_local) <= 1


def name_recognisable(name: str, names: tuple[str, str]) -> bool:
    """Whether a reviewer would read `name` in either of `names` (any order): the same up
    to case and accents, a slip or two (OCR's rn/m is two), or a nickname of it."""
    name = ascii_fold(name).lower()
    if len(name.rstrip(".")) < 2:
        return False
    for other in names:
        other = ascii_fold(other).lower()
        if len(other.rstrip(".")) < 2:
            continue
        if edit_distance(name, other) <= (2 if min(len(name), len(other)) >= 5 else 1):
            return True
        if other in NICKNAMES_FOLDED.get(name, ()) or name in NICKNAMES_FOLDED.get(other, ()):
            return True
    return False


def has_evidence(person: dict, values: dict) -> bool:
    """Whether a reviewer could confirm `values` as a copy of `person`'s first record: one of
    its names still readable (`name_recognisable`) and a shared phone, email (up to a slip,
    dots or a +tag) or street and postal code; or both names readable and the same date of
    birth; or any two of those identifiers shared."""
    identifiers = {
        "phone": bool(person["phone"]) and values["phone"] == person["phone"],
        "email": email_near(person["email"], values["email"]),
        "address": bool(person["street_address"])
        and values["street_address"] == person["street_address"]
        and values["postal_code"] == person["postal_code"],
        "dob": bool(person["date_of_birth"]) and values["date_of_birth"] == person["date_of_birth"],
    }
    copy_names = (values["first_name"], values["last_name"])
    names_read = sum(
        name_recognisable(person[key], copy_names) for key in ("first_name", "last_name")
    )
    strong = identifiers["phone"] or identifiers["email"] or identifiers["address"]
    return (
        (names_read >= 1 and strong)
        or (names_read == 2 and identifiers["dob"])
        or sum(identifiers.values()) >= 2
    )
