"""A benchmark set for the duplicate finder with known truth (issue 12, "Evidence").

People are drawn with Faker in five locales; about a third of them get one to three
duplicate records corrupted the way people and forms corrupt them (keyboard typos, OCR
confusions, nicknames, swapped names, missing fields, moved addresses, mistyped phones
and dates, a second email address, a changed job). Hard negatives are added on purpose:
namesakes (same first and last name, nothing else shared), relatives at one address
(same last name and address, sometimes one household email or landline) and twins
(same last name, date of birth and address, different first name).

Guaranteed: the same seed, people count and mix give the same records, in the same
order, on every run (one `random.Random(seed)` draws everything and each Faker is seeded
with `seed_instance`). Record ids are 1..N; the truth maps every record id to its person
id. Records hold what LeadFlow can store after cleaning: valid phones in E.164 (a
reformatted phone therefore reads the same; a mistyped one differs), lower-case emails,
dates as ISO strings; and they obey its identity rules (models.Contact): no two records
share an email, no two records without email share a phone, none lacks both. So no
duplicate keeps its person's email: a copy with the same email would have been the same
contact, caught on entry, not a pair for the finder.

Every pair of one person's records is one a reviewer could confirm (`has_evidence`: a
name still readable and a shared phone, email up to a slip, dots or a +tag, or street and
postal code; or both names and the date of birth; or two identifiers), copies among
themselves too: a pair that shares nothing but a name is not a duplicate anyone could
prove, and scoring a finder on it would reward guessing. Copies that fail are drawn again.

The tables it draws from are in bench/dedupe_tables.py (the nickname table is our own,
not the `nicknames` package a finder may use, so the set does not grade a finder on its
own dictionary); the truth's pairs and the evidence rule are in bench/dedupe_truth.py.
"""

from __future__ import annotations

import datetime
import random
import re
import string
from dataclasses import dataclass, field

from dedupe_tables import (
    ADDRESS_KEYS,
    COMPANY_TLD,
    COUNTRY,
    FORMAL_BY_LOCALE,
    FORMAL_FEMALE,
    FORMAL_MALE,
    FREE_MAIL,
    KEYBOARD_NEIGHBOURS,
    LOCALE_WEIGHTS,
    LOCALES,
    MIXES,
    NICKNAMES,
    OCR_CONFUSIONS,
    STREET_ABBREVIATIONS,
)
from dedupe_truth import ascii_fold, has_evidence, name_recognisable, phone_valid
from faker import Faker

COPY_ATTEMPTS = 30


@dataclass
class BenchmarkSet:
    """Records, their truth, and what was done to each record (for tests and tuning)."""

    records: list[dict]
    truth: dict[int, int]
    # record id -> corruption kinds applied (empty for a person's first record)
    corruptions: dict[int, list[str]] = field(default_factory=dict)
    # person id -> (hard negative kind, person id it was made to resemble)
    hard_negatives: dict[int, tuple[str, int]] = field(default_factory=dict)


def people_generate(
    *, seed: int, people: int, mix: str = "tuning"
) -> tuple[list[dict], dict[int, int]]:
    """Records (values dicts, ids 1..N, shuffled) and record id -> true person id."""
    generated = benchmark_set_generate(seed=seed, people=people, mix=mix)
    return generated.records, generated.truth


def benchmark_set_generate(*, seed: int, people: int, mix: str = "tuning") -> BenchmarkSet:
    """The whole set: `people` distinct persons (hard negatives included), their duplicates."""
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {sorted(MIXES)}, not {mix!r}")
    return _Generator(seed=seed, mix=MIXES[mix]).generate(people)


class _Generator:
    def __init__(self, *, seed: int, mix: dict) -> None:
        self.rng = random.Random(seed)
        self.mix = mix
        self.fakers = {}
        for index, locale in enumerate(LOCALES):
            faker = Faker(locale)
            faker.seed_instance(seed * 100 + index)
            self.fakers[locale] = faker
        self.used_emails: set[str] = set()
        self.used_phones: set[str] = set()
        # What LeadFlow's identity rules keep unique: emails, and phones of email-less contacts.
        self.record_emails: set[str] = set()
        self.emailless_phones: set[str] = set()
        self.companies: dict[str, list[tuple[str, str]]] = {locale: [] for locale in LOCALES}
        kinds = mix["weights"]
        self.kind_names = list(kinds)
        self.kind_weights = list(kinds.values())

    # --- persons ---------------------------------------------------------------------------

    def generate(self, people: int) -> BenchmarkSet:
        persons: list[dict] = []
        hard_negatives: dict[int, tuple[str, int]] = {}
        shares = [self.mix["namesakes"], self.mix["relatives"], self.mix["twins"]]
        while len(persons) < people:
            person_id = len(persons) + 1
            draw = self.rng.random()
            kind = None
            if persons and draw < sum(shares):
                kind = (
                    "namesake"
                    if draw < shares[0]
                    else "relative"
                    if draw < shares[0] + shares[1]
                    else "twin"
                )
            if kind:
                model_id = self.rng.randrange(len(persons)) + 1
                persons.append(self._resembling(persons[model_id - 1], kind))
                hard_negatives[person_id] = (kind, model_id)
            else:
                persons.append(self._person())
            # Emails made later (a second address, a new job) spell the true names.
            persons[-1]["_first"] = persons[-1]["first_name"]
            persons[-1]["_last"] = persons[-1]["last_name"]

        for person in persons:
            if not person["email"]:
                while person["phone"] in self.emailless_phones:
                    person["phone"] = self._phone(person["_locale"])
            self._register(person)

        # (person id, values, corruptions)
        rows: list[tuple[int, dict, list[str]]] = []
        for person_id, person in enumerate(persons, start=1):
            rows.append((person_id, person, []))
            if self.rng.random() >= self.mix["duplicated_share"]:
                continue
            copies = self.rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
            made: list[tuple[dict, list[str]]] = []
            for _ in range(copies):
                # Every pair of one person's records must be confirmable, copies among
                # themselves too (the truth counts those pairs): draw again until it is.
                for _attempt in range(COPY_ATTEMPTS):
                    source, earlier = person, []
                    # A copy of a copy carries both copies' corruptions.
                    if made and self.rng.random() < self.mix["from_earlier_duplicate"]:
                        source, earlier = self.rng.choice(made)
                    duplicate, kinds = self._duplicate(person, source)
                    if all(has_evidence(other, duplicate) for other, _ in made):
                        break
                else:
                    continue
                self._register(duplicate)
                kinds = [*earlier, *kinds]
                made.append((duplicate, kinds))
                rows.append((person_id, duplicate, kinds))

        self.rng.shuffle(rows)
        records, truth, corruptions = [], {}, {}
        for record_id, (person_id, values, kinds) in enumerate(rows, start=1):
            record = {key: value for key, value in values.items() if not key.startswith("_")}
            record["id"] = record_id
            records.append(record)
            truth[record_id] = person_id
            corruptions[record_id] = kinds
        return BenchmarkSet(records, truth, corruptions, hard_negatives)

    def _person(self, *, locale: str | None = None, gender: str | None = None) -> dict:
        rng = self.rng
        locale = locale or rng.choices(LOCALES, weights=LOCALE_WEIGHTS)[0]
        faker = self.fakers[locale]
        gender = gender or rng.choice("mf")
        values = {
            "_locale": locale,
            "_gender": gender,
            "first_name": self._first_name(locale, gender),
            "last_name": faker.last_name(),
            "country": COUNTRY[locale],
            "custom_fields": {},
        }
        values["date_of_birth"] = self._birth_date() if rng.random() < 0.55 else None
        values.update(
            self._address(locale) if rng.random() < 0.8 else dict.fromkeys(ADDRESS_KEYS, "")
        )
        values["company_name"], values["company_domain"] = (
            self._company(locale) if rng.random() < 0.3 else ("", "")
        )
        has_email = rng.random() < 0.88
        has_phone = rng.random() < 0.7 or not has_email
        values["email"] = self._email(values) if has_email else ""
        values["phone"] = self._phone(locale) if has_phone else ""
        return values

    def _first_name(self, locale: str, gender: str) -> str:
        faker = self.fakers[locale]
        if self.rng.random() < 0.3:
            if locale.startswith("en"):
                return self.rng.choice(FORMAL_MALE if gender == "m" else FORMAL_FEMALE)
            if self.rng.random() < 0.5:
                return self.rng.choice(FORMAL_BY_LOCALE[locale][0 if gender == "m" else 1])
        return faker.first_name_male() if gender == "m" else faker.first_name_female()

    def _birth_date(self, around: str | None = None) -> str:
        if around:
            base = datetime.date.fromisoformat(around)
            return (base + datetime.timedelta(days=self.rng.randint(-9000, 9000))).isoformat()
        start = datetime.date(1945, 1, 1)
        return (start + datetime.timedelta(days=self.rng.randint(0, 22000))).isoformat()

    def _address(self, locale: str) -> dict:
        faker = self.fakers[locale]
        street = " ".join(faker.street_address().replace("\n", ", ").split())
        return {
            "street_address": street,
            "city": faker.city(),
            "region": faker.administrative_unit(),
            "postal_code": faker.postcode(),
        }

    def _company(self, locale: str) -> tuple[str, str]:
        pool = self.companies[locale]
        # A few hundred employers per locale: colleagues share a company and a domain.
        if pool and (len(pool) >= 400 or self.rng.random() < 0.4):
            return self.rng.choice(pool)
        name = self.fakers[locale].company()
        slug = re.sub(r"[^a-z0-9]", "", ascii_fold(name.split()[0]).lower()) or "firm"
        domain = f"{slug}{self.rng.randint(1, 99) if self.rng.random() < 0.3 else ''}"
        company = (name, f"{domain}.{COMPANY_TLD[locale]}")
        pool.append(company)
        return company

    def _email(self, values: dict, *, corporate: bool | None = None) -> str:
        rng = self.rng
        first = values.get("_first") or values["first_name"]
        last = values.get("_last") or values["last_name"]
        first = re.sub(r"[^a-z]", "", ascii_fold(first).lower()) or "x"
        last = re.sub(r"[^a-z]", "", ascii_fold(last).lower()) or "y"
        if corporate is None:
            corporate = bool(values["company_domain"]) and rng.random() < 0.6
        if corporate and values["company_domain"]:
            domain = values["company_domain"]
            patterns = ("{f}.{l}", "{f}{l}", "{f0}{l}", "{f}", "{f}_{l}", "{f0}.{l}")
        else:
            domain = rng.choice(FREE_MAIL[values["_locale"]])
            patterns = ("{f}.{l}", "{f}{l}{n}", "{f0}{l}{n}", "{f}_{l}", "{l}.{f}", "{f}{y}")
        year = (values.get("date_of_birth") or "19" + str(rng.randint(50, 99)))[2:4]
        pattern = rng.choice(patterns)
        local = pattern.format(f=first, l=last, f0=first[0], n=rng.randint(1, 99), y=year)
        email = f"{local}@{domain}"
        while email in self.used_emails:
            email = f"{local}{rng.randint(1, 999)}@{domain}"
        self.used_emails.add(email)
        return email

    def _phone(self, locale: str) -> str:
        rng = self.rng
        digits = lambda count: "".join(rng.choice(string.digits) for _ in range(count))  # noqa: E731
        while True:
            if locale == "en_US":
                phone = f"+1{rng.randint(2, 9)}{digits(2)}{rng.randint(2, 9)}{digits(6)}"
            elif locale == "en_GB":
                phone = rng.choice((f"+447{digits(9)}", f"+4420{digits(8)}"))
            elif locale == "de_DE":
                phone = f"+491{rng.choice('567')}{digits(8)}"
            elif locale == "fr_FR":
                phone = f"+33{rng.choice('67')}{digits(8)}"
            else:
                phone = f"+346{digits(8)}"
            if phone not in self.used_phones and phone_valid(phone):
                self.used_phones.add(phone)
                return phone

    def _resembling(self, model: dict, kind: str) -> dict:
        """A different person built to look like `model` (the finder must keep them apart)."""
        rng = self.rng
        locale = model["_locale"]
        if kind == "namesake":
            person = self._person(locale=locale, gender=model["_gender"])
            person["first_name"], person["last_name"] = model["first_name"], model["last_name"]
            if person["company_domain"] == model["company_domain"]:
                person["company_name"] = person["company_domain"] = ""
            person["email"] = self._email(person, corporate=False) if person["email"] else ""
            return person
        person = self._person(locale=locale)
        person["last_name"] = model["last_name"]
        if not model["street_address"]:
            model.update(self._address(locale))
        for key in (*ADDRESS_KEYS, "country"):
            person[key] = model[key]
        # A different initial too: "J. Smith" at one address, born one day, could be either
        # twin, and a truth no reviewer could know is no test of a finder.
        while ascii_fold(person["first_name"])[0] == ascii_fold(model["first_name"])[0]:
            person["first_name"] = self._first_name(locale, person["_gender"])
        if kind == "twin":
            if not model["date_of_birth"]:
                model["date_of_birth"] = self._birth_date()
            person["date_of_birth"] = model["date_of_birth"]
        else:
            person["date_of_birth"] = (
                self._birth_date(around=model["date_of_birth"] or self._birth_date())
                if rng.random() < 0.6
                else None
            )
            while person["date_of_birth"] and person["date_of_birth"] == model["date_of_birth"]:
                person["date_of_birth"] = self._birth_date()
        if person["email"]:
            person["email"] = self._email(person, corporate=False)
        # Some households share a landline. (Not an email: LeadFlow keeps one contact per
        # email, so two people on one address would be one contact, not a pair to judge.)
        if kind == "relative" and model["phone"] and person["email"] and rng.random() < 0.15:
            person["phone"] = model["phone"]
        if not person["email"] and not person["phone"]:
            person["phone"] = self._phone(locale)
        return person

    # --- duplicates ------------------------------------------------------------------------

    def _duplicate(self, person: dict, source: dict) -> tuple[dict, list[str]]:
        rng = self.rng
        values = dict(source)
        # Names are corrupted in their own places (a changed last name is the last name even
        # on a copy that writes it first) and swapped for the record at the end.
        if values.get("_swapped"):
            values["first_name"], values["last_name"] = values["last_name"], values["first_name"]
        spread = self.mix["corruptions_per_duplicate"]
        wanted = rng.choices(list(spread), weights=list(spread.values()))[0]
        kinds: list[str] = []
        attempts = 0
        while len(kinds) < wanted and attempts < 50:
            attempts += 1
            kind = rng.choices(self.kind_names, weights=self.kind_weights)[0]
            if kind in kinds:
                continue
            if getattr(self, f"_corrupt_{kind}")(values):
                kinds.append(kind)
        self._email_distinct(values, kinds)
        self._keep_evidence(person, values, kinds)
        if not values["email"] and (
            not values["phone"] or values["phone"] in self.emailless_phones
        ):
            self._corrupt_email_other(values)
            kinds.append("email_other")
        if values.get("_swapped"):
            values["first_name"], values["last_name"] = values["last_name"], values["first_name"]
        return values, kinds

    def _register(self, values: dict) -> None:
        if values["email"]:
            self.record_emails.add(values["email"])
        else:
            self.emailless_phones.add(values["phone"])

    def _email_distinct(self, values: dict, kinds: list[str]) -> None:
        """LeadFlow keeps one contact per email: a copy that kept its email would have been
        the same contact, so it is given none, another, a mistyped or a variant address."""
        fixes = ("email_missing", "email_other", "email_typo", "email_variant")
        weights = [self.mix["weights"][fix] for fix in fixes]
        while values["email"] and values["email"] in self.record_emails:
            fix = self.rng.choices(fixes, weights=weights)[0]
            if getattr(self, f"_corrupt_{fix}")(values):
                kinds.append(fix)

    def _keep_evidence(self, person: dict, values: dict, kinds: list[str]) -> None:
        """Restore a name, then identifiers, until a reviewer could confirm the copy."""
        copy_names = (values["first_name"], values["last_name"])
        if not has_evidence(person, values) and not any(
            name_recognisable(person[key], copy_names) for key in ("first_name", "last_name")
        ):
            values["last_name"] = person["last_name"]
            kinds.append("restored:last_name")
        restorable = [key for key in ("phone", "street_address", "email") if person[key]]
        self.rng.shuffle(restorable)
        while not has_evidence(person, values) and restorable:
            key = restorable.pop()
            if key == "street_address":
                for address_key in ADDRESS_KEYS:
                    values[address_key] = person[address_key]
            elif key == "phone":
                values["phone"] = person["phone"]
            else:
                # The email itself is another contact's: a variant of it is what is left.
                values["email"] = person["email"]
                for _ in range(50):
                    if values["email"] not in self.record_emails:
                        break
                    self._corrupt_email_variant(values)
            kinds.append(f"restored:{key}")

    def _typo(self, text: str) -> str:
        """One keyboard slip: a QWERTY neighbour instead or extra, a letter dropped, two swapped."""
        rng = self.rng
        positions = [i for i, char in enumerate(text) if char.lower() in KEYBOARD_NEIGHBOURS]
        if len(text) < 3 or not positions:
            return text
        index = rng.choice(positions)
        char = text[index]
        near = rng.choice(KEYBOARD_NEIGHBOURS[char.lower()])
        near = near.upper() if char.isupper() else near
        slip = rng.choices(("substitute", "insert", "delete", "transpose"), weights=(5, 2, 2, 2))[0]
        if slip == "substitute":
            return text[:index] + near + text[index + 1 :]
        if slip == "insert":
            return text[: index + 1] + near + text[index + 1 :]
        if slip == "delete" and index > 0:
            return text[:index] + text[index + 1 :]
        if index + 1 < len(text):
            return text[:index] + text[index + 1] + text[index] + text[index + 2 :]
        return text[:index] + near

    def _ocr(self, text: str) -> str:
        options = [(old, new) for old, new in OCR_CONFUSIONS if old in text[1:]]
        if not options:
            return text
        old, new = self.rng.choice(options)
        starts = [m.start() for m in re.finditer(re.escape(old), text) if m.start() > 0]
        start = self.rng.choice(starts)
        return text[:start] + new + text[start + len(old) :]

    def _name_key(self) -> str:
        return self.rng.choice(("first_name", "last_name"))

    def _corrupt_name_typo(self, values: dict) -> bool:
        key = self._name_key()
        changed = self._typo(values[key])
        values[key], done = changed, changed != values[key]
        return done

    def _corrupt_name_ocr(self, values: dict) -> bool:
        key = self._name_key()
        changed = self._ocr(values[key])
        values[key], done = changed, changed != values[key]
        return done

    def _corrupt_nickname(self, values: dict) -> bool:
        first = values["first_name"]
        if first in NICKNAMES:
            values["first_name"] = self.rng.choice(NICKNAMES[first])
            return True
        for formal, short_forms in NICKNAMES.items():
            if first in short_forms:
                values["first_name"] = formal
                return True
        return False

    def _corrupt_names_swapped(self, values: dict) -> bool:
        values["_swapped"] = not values.get("_swapped")
        return True

    def _corrupt_first_name_initial(self, values: dict) -> bool:
        if len(values["first_name"]) < 2:
            return False
        values["first_name"] = values["first_name"][0] + self.rng.choice(("", "."))
        return True

    def _corrupt_accents_dropped(self, values: dict) -> bool:
        done = False
        for key in ("first_name", "last_name", "street_address", "city"):
            text = values[key]
            if text and ascii_fold(text) != text:
                # German forms write ä as ae as often as a.
                if self.rng.random() < 0.5:
                    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
                values[key], done = ascii_fold(text), True
        return done

    def _corrupt_name_case(self, values: dict) -> bool:
        change = self.rng.choice((str.upper, str.lower))
        values["first_name"], values["last_name"] = (
            change(values["first_name"]),
            change(values["last_name"]),
        )
        return True

    def _corrupt_last_name_changed(self, values: dict) -> bool:
        # A married name: women in the English, German and French locales (Spanish women
        # keep their surnames).
        if values["_gender"] != "f" or values["_locale"] == "es_ES":
            return False
        values["last_name"] = self.fakers[values["_locale"]].last_name()
        return True

    def _corrupt_email_missing(self, values: dict) -> bool:
        if not values["email"] or not values["phone"]:
            return False
        values["email"] = ""
        return True

    def _corrupt_email_other(self, values: dict) -> bool:
        corporate = bool(values["company_domain"]) and not values["email"].endswith(
            "@" + values["company_domain"]
        )
        values["email"] = self._email(values, corporate=corporate)
        return True

    def _corrupt_email_typo(self, values: dict) -> bool:
        if not values["email"]:
            return False
        local, domain = values["email"].split("@")
        changed = self._typo(local)
        if changed == local or not re.fullmatch(r"[a-z0-9._]+", changed.lower()):
            return False
        values["email"] = f"{changed.lower()}@{domain}"
        return True

    def _corrupt_email_variant(self, values: dict) -> bool:
        """The same mailbox written another way: dots dropped or added, a +tag."""
        if not values["email"]:
            return False
        local, domain = values["email"].split("@")
        if "+" not in local and self.rng.random() < 0.4:
            local = f"{local}+{self.rng.choice(('news', 'crm', 'shop', 'work', '2024'))}"
        elif "." in local:
            local = local.replace(".", "", 1)
        elif len(local) > 3:
            cut = self.rng.randrange(2, len(local) - 1)
            local = f"{local[:cut]}.{local[cut:]}"
        else:
            return False
        values["email"] = f"{local}@{domain}"
        return True

    def _corrupt_phone_missing(self, values: dict) -> bool:
        if not values["phone"] or not values["email"]:
            return False
        values["phone"] = ""
        return True

    def _corrupt_phone_digit_typo(self, values: dict) -> bool:
        original = values["phone"]
        if not original:
            return False
        for _ in range(20):
            # The last seven digits: a mistyped country or area code rarely survives cleaning.
            index = self.rng.randrange(len(original) - 7, len(original) - 1)
            if self.rng.random() < 0.5 and original[index] != original[index + 1]:
                phone = (
                    original[:index] + original[index + 1] + original[index] + original[index + 2 :]
                )
            else:
                digit = self.rng.choice([d for d in string.digits if d != original[index]])
                phone = original[:index] + digit + original[index + 1 :]
            # LeadFlow refuses a number that is not valid, so a slip it stored is a valid one.
            if phone_valid(phone):
                values["phone"] = phone
                return True
        return False

    def _corrupt_phone_other(self, values: dict) -> bool:
        values["phone"] = self._phone(values["_locale"])
        return True

    def _corrupt_dob_missing(self, values: dict) -> bool:
        if not values["date_of_birth"]:
            return False
        values["date_of_birth"] = None
        return True

    def _corrupt_dob_day_month_swapped(self, values: dict) -> bool:
        if not values["date_of_birth"]:
            return False
        year, month, day = values["date_of_birth"].split("-")
        if int(day) > 12 or day == month:
            return False
        values["date_of_birth"] = f"{year}-{day}-{month}"
        return True

    def _corrupt_dob_digit_typo(self, values: dict) -> bool:
        if not values["date_of_birth"]:
            return False
        date = datetime.date.fromisoformat(values["date_of_birth"])
        change = self.rng.choice(("year", "day", "decade"))
        if change == "year":
            date = date.replace(year=date.year + self.rng.choice((-1, 1)), day=min(date.day, 28))
        elif change == "decade":
            date = date.replace(year=date.year + self.rng.choice((-10, 10)), day=min(date.day, 28))
        else:
            date = date.replace(day=date.day + 1 if date.day < 28 else date.day - 1)
        values["date_of_birth"] = date.isoformat()
        return True

    def _corrupt_address_missing(self, values: dict) -> bool:
        if not values["street_address"]:
            return False
        values.update(dict.fromkeys(ADDRESS_KEYS, ""))
        return True

    def _corrupt_address_moved(self, values: dict) -> bool:
        values.update(self._address(values["_locale"]))
        return True

    def _corrupt_street_typo(self, values: dict) -> bool:
        street = values["street_address"]
        changed = self._typo(street) if self.rng.random() < 0.7 else self._ocr(street)
        values["street_address"], done = changed, changed != street
        return done

    def _corrupt_street_abbreviated(self, values: dict) -> bool:
        street = values["street_address"]
        for long_form, short_form in STREET_ABBREVIATIONS:
            if long_form in street:
                values["street_address"] = street.replace(long_form, short_form, 1)
                return True
        return False

    def _corrupt_company_dropped(self, values: dict) -> bool:
        if not values["company_name"]:
            return False
        values["company_name"] = values["company_domain"] = ""
        return True

    def _corrupt_job_changed(self, values: dict) -> bool:
        values["company_name"], values["company_domain"] = self._company(values["_locale"])
        values["email"] = self._email(values, corporate=True)
        return True
