"""Blocking keys: which contacts are compared at all.

Two contacts are compared when they share at least one key. `person_keys` guarantees that
each key is at most `KEY_MAX` characters and starts with its family's prefix and a colon
(`KEY_FAMILIES` says what each family means), and that the families overlap: a true
duplicate that differs in any one field (a typo in the name, a new email, a moved address,
a missing phone) still shares a key through another family.

Every key joins a field that identifies with a second that narrows it, so blocks stay
small; a block with more than `block_cap(key)` members (`BLOCK_CAP`, lower for the
families keyed by names alone: `BLOCK_CAPS`) (`info@...`, a company's switchboard,
"John Smith" in a million contacts) is skipped, because comparing everyone in it would cost
quadratically while other keys still bring its true duplicates together. That is how the
number of comparisons grows about linearly with the workspace.

Names are keyed by phonetic code (jellyfish's `metaphone`), the first
name through its nickname roots (Bill and William share `william`), and first and last in
sorted order so a swapped pair keys alike.
"""

from __future__ import annotations

from functools import lru_cache

import jellyfish

from leadflow.duplicates.records import Person

BLOCK_CAP = 60
# Families keyed by names alone get a lower cap: names repeat far more than emails, phones
# or dates (a million contacts hold thousands of 20-strong "same name" blocks, which cost
# tens of millions of comparisons at cap 60), and two people sharing only a common name
# are never a likely duplicate, so a common name is left to the other families.
BLOCK_CAPS: dict[str, int] = {"n": 15, "i": 15}
KEY_MAX = 80
# A nickname table entry with more roots than this ("chris", "al") keys by itself only: its
# keys would otherwise multiply; the comparison still finds the nickname.
ROOTS_MAX = 6

KEY_FAMILIES: dict[str, str] = {
    "n": "similar-sounding names",
    "i": "a similar-sounding last name and a first name beginning alike",
    "l": "similar-sounding last name and the same postal code",
    "e": "the same email address before the @",
    "p": "the same last 7 phone digits",
    "c": "the same company and a similar-sounding last name",
    "d": "the same date of birth and initials, or the same date of birth and a name's sound",
    "s": "the same postal code and house number",
    "b": "the same date of birth and postal code",
    "x": "the same identifying field value",
}

# Email local parts that name a role, not a person: keyed, they would join strangers.
_ROLE_LOCALS = frozenset(
    [
        "info",
        "sales",
        "contact",
        "admin",
        "office",
        "hello",
        "support",
        "mail",
        "team",
        "marketing",
        "billing",
        "hr",
        "jobs",
    ]
)


@lru_cache(maxsize=131072)
def phonetic(name: str) -> str:
    """The phonetic code of a (normalised) name; '' for none."""
    if not name:
        return ""
    return jellyfish.metaphone(name.replace(" ", ""))[:12]


def _roots(person_roots: frozenset[str], name: str) -> list[str]:
    if len(person_roots) > ROOTS_MAX + 1:
        return [name]
    return sorted(person_roots)


def block_cap(key: str) -> int:
    """The most members a block of this key may have and still be compared."""
    return BLOCK_CAPS.get(key.split(":", 1)[0], BLOCK_CAP)


def _key(family: str, *parts: str) -> str:
    return f"{family}:{':'.join(parts)}"[:KEY_MAX]


def person_keys(p: Person) -> list[str]:
    """The person's blocking keys, without duplicates (see the module's docstring)."""
    keys: set[str] = set()
    last_code = phonetic(p.last)
    if p.first or p.last:
        first_codes = {phonetic(root) for root in _roots(p.first_roots, p.first)} or {""}
        last_codes = {phonetic(root) for root in _roots(p.last_roots, p.last)} or {""}
        if p.first and p.last:
            for first_code in first_codes:
                for code in last_codes:
                    keys.add(_key("n", *sorted((first_code, code))))
    if p.first and p.last:
        # A typo that changes the first name's sound rarely touches its first three letters
        # (Stephen / Stepen); both ways round for a swap.
        keys.add(_key("i", last_code, p.first[:3]))
        keys.add(_key("i", phonetic(p.first), p.last[:3]))
    if last_code and p.postal:
        keys.add(_key("l", last_code, p.postal))
    if len(p.email_local) >= 3 and p.email_local not in _ROLE_LOCALS:
        keys.add(_key("e", p.email_local))
    if len(p.phone) >= 7:
        keys.add(_key("p", p.phone[-7:]))
    if last_code:
        for company in {p.company_domain or p.company, p.company}:
            if company:
                keys.add(_key("c", last_code, company))
    if p.dob:
        # Initials, not names: a typo rarely hits the first letter. Sorted so a swap keys
        # alike; the first name's roots so Bill and William do.
        for root in p.first_roots or {""}:
            keys.add(_key("d", p.dob, *sorted((root[:1], p.last[:1]))))
        # A slip in an initial ("Isaac Giron" / "Isaac iGron"): the date and either
        # name's sound.
        for name in (p.first, p.last):
            if name:
                keys.add(_key("d", p.dob, phonetic(name)))
        if p.postal:
            keys.add(_key("b", p.dob, p.postal))
    if p.postal and p.street_number:
        keys.add(_key("s", p.postal, p.street_number))
    for field, value in p.extra:
        keys.add(_key("x", field, value))
    return sorted(keys)
