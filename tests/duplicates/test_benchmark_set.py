"""The duplicate finder's benchmark set (bench/dedupe_data.py) is what it claims to be, and
the finder scores well on it.

The generator is tested on its own first: a benchmark whose truth is wrong, or whose
corruptions do not happen, would grade the finder on nothing. The last test runs the
finder on a small test-mix set and fails when its F1 falls below 0.95 (the issue's target
of 0.98 is measured at 20,000 people by `make bench` / bench/dedupe_quality.py).
"""

import collections
import datetime
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import dedupe_data
import dedupe_quality
import dedupe_tables
import dedupe_truth  # the benchmark's generator lives with the benchmarks

PEOPLE = 3000
VALUE_KEYS = {
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "street_address",
    "city",
    "region",
    "postal_code",
    "country",
    "company_name",
    "company_domain",
    "custom_fields",
}


@pytest.fixture(scope="module")
def tuning_set():
    return dedupe_data.benchmark_set_generate(seed=1, people=PEOPLE, mix="tuning")


@pytest.fixture(scope="module")
def test_set():
    return dedupe_data.benchmark_set_generate(seed=2, people=PEOPLE, mix="test")


def _by_person(generated):
    """person id -> (original record, [(duplicate record, its corruptions)])."""
    originals, duplicates = {}, collections.defaultdict(list)
    for record in generated.records:
        person = generated.truth[record["id"]]
        kinds = generated.corruptions[record["id"]]
        if kinds:
            duplicates[person].append((record, kinds))
        else:
            assert person not in originals, "a person has one uncorrupted record"
            originals[person] = record
    return originals, duplicates


def _single(generated, kind):
    """(original, duplicate) pairs where `kind` is the only thing done to the duplicate
    besides (for other kinds) the change of email every copy of an emailed person needs."""
    originals, duplicates = _by_person(generated)

    def alone(kinds):
        if kind.startswith("email_"):
            return kinds == [kind]
        return [other for other in kinds if not other.startswith("email_")] == [kind]

    return [
        (originals[person], record)
        for person, rows in duplicates.items()
        for record, kinds in rows
        if alone(kinds)
    ]


def test_the_same_seed_gives_the_same_records_and_another_seed_other_records():
    first = dedupe_data.people_generate(seed=7, people=400, mix="test")
    again = dedupe_data.people_generate(seed=7, people=400, mix="test")
    other = dedupe_data.people_generate(seed=8, people=400, mix="test")
    assert first == again
    assert first[0] != other[0]


def test_the_mixes_differ_in_their_proportions_of_corruption(tuning_set, test_set):
    def shares(generated):
        counts = collections.Counter(
            kind for kinds in generated.corruptions.values() for kind in kinds
        )
        total = sum(counts.values())
        return {kind: counts[kind] / total for kind in dedupe_tables.CORRUPTION_KINDS}

    tuning, test = shares(tuning_set), shares(test_set)
    assert test["names_swapped"] > tuning["names_swapped"]
    assert test["name_typo"] < tuning["name_typo"]
    with pytest.raises(ValueError, match="mix"):
        dedupe_data.benchmark_set_generate(seed=1, people=10, mix="easy")


def test_records_are_numbered_from_one_and_hold_what_leadflow_stores(tuning_set):
    records = tuning_set.records
    assert [record["id"] for record in records] == list(range(1, len(records) + 1))
    assert set(tuning_set.truth) == {record["id"] for record in records}
    for record in records:
        assert set(record) == VALUE_KEYS
        assert record["phone"] == "" or re.fullmatch(r"\+[1-9]\d{7,14}", record["phone"])
        if record["date_of_birth"] is not None:
            datetime.date.fromisoformat(record["date_of_birth"])
        assert record["country"] in {"US", "GB", "DE", "FR", "ES"}
        assert record["email"] == "" or re.fullmatch(r"[a-z0-9._+]+@[a-z0-9.-]+", record["email"])


def test_the_truth_names_every_person_once_with_one_original_and_up_to_three_copies(
    tuning_set,
):
    originals, duplicates = _by_person(tuning_set)
    assert set(originals) == set(range(1, PEOPLE + 1))
    assert set(tuning_set.truth.values()) == set(originals)
    assert all(1 <= len(rows) <= 3 for rows in duplicates.values())
    share = len(duplicates) / PEOPLE
    assert 0.3 < share < 0.4  # the tuning mix duplicates 35 % of people
    pairs = dedupe_truth.true_pairs(tuning_set.truth)
    assert len(pairs) == sum((len(rows) + 1) * len(rows) // 2 for rows in duplicates.values())
    assert all(tuning_set.truth[low] == tuning_set.truth[high] for low, high in pairs)


def test_records_obey_leadflows_identity_rules(tuning_set, test_set):
    for generated in (tuning_set, test_set):
        emails = [record["email"] for record in generated.records if record["email"]]
        assert len(emails) == len(set(emails)), "an email is one contact"
        phones = [record["phone"] for record in generated.records if not record["email"]]
        assert all(phones), "a contact without email has a phone"
        assert len(phones) == len(set(phones)), "a phone is one contact without email"
        assert all(
            dedupe_truth.phone_valid(record["phone"])
            for record in generated.records
            if record["phone"]
        )


def test_every_pair_of_one_persons_records_is_one_a_reviewer_could_confirm(test_set):
    by_id = {record["id"]: record for record in test_set.records}
    for low, high in dedupe_truth.true_pairs(test_set.truth):
        one, other = by_id[low], by_id[high]
        assert dedupe_truth.has_evidence(one, other) or dedupe_truth.has_evidence(other, one), (
            one,
            other,
        )


def test_the_evidence_rule_wants_a_readable_name_and_an_identifier():
    person = {
        "first_name": "William",
        "last_name": "Müller",
        "email": "william.mueller@gmail.com",
        "phone": "+14155550123",
        "date_of_birth": "1980-02-03",
        "street_address": "1 Main Street",
        "postal_code": "94105",
    }
    copy = dict.fromkeys(person, "") | {"first_name": "Bill", "last_name": "Jones"}
    assert dedupe_truth.has_evidence(person, copy | {"email": "williammueller+news@gmail.com"})
    assert dedupe_truth.has_evidence(person, copy | {"email": "william.meuller@gmail.com"})
    assert not dedupe_truth.has_evidence(person, copy | {"email": "william.mueller@yahoo.com"})
    assert not dedupe_truth.has_evidence(person, copy | {"date_of_birth": "1980-02-03"})
    swapped_with_slip = copy | {"first_name": "Muler", "last_name": "Wi1liam"}
    assert dedupe_truth.has_evidence(person, swapped_with_slip | {"date_of_birth": "1980-02-03"})
    strangers = {"first_name": "D", "last_name": "Jones"}
    assert not dedupe_truth.has_evidence(person, copy | strangers | {"phone": "+14155550123"})
    both = {"phone": "+14155550123", "date_of_birth": "1980-02-03"}
    assert dedupe_truth.has_evidence(person, copy | strangers | both)


@pytest.mark.parametrize("mix", sorted(dedupe_tables.MIXES))
def test_every_kind_of_corruption_occurs_in_both_mixes(mix, tuning_set, test_set):
    generated = tuning_set if mix == "tuning" else test_set
    counts = collections.Counter(kind for kinds in generated.corruptions.values() for kind in kinds)
    rare = {kind: counts[kind] for kind in dedupe_tables.CORRUPTION_KINDS if counts[kind] < 5}
    assert not rare


def test_single_corruptions_do_what_their_names_say(tuning_set, test_set):
    pairs = {
        kind: _single(tuning_set, kind) + _single(test_set, kind)
        for kind in dedupe_tables.CORRUPTION_KINDS
    }
    for original, record in pairs["names_swapped"]:
        assert (record["first_name"], record["last_name"]) == (
            original["last_name"],
            original["first_name"],
        )
    for original, record in pairs["nickname"]:
        forms = {original["first_name"], record["first_name"]}
        assert any(
            forms == {formal, short}
            for formal, shorts in dedupe_tables.NICKNAMES.items()
            for short in shorts
        ), forms
    for original, record in pairs["name_typo"]:
        changed = [key for key in ("first_name", "last_name") if record[key] != original[key]]
        assert len(changed) == 1
        assert dedupe_truth.edit_distance(record[changed[0]], original[changed[0]]) == 1
    for original, record in pairs["last_name_changed"]:
        # a married name: the first name stays, Spanish women keep their surnames
        assert record["first_name"] == original["first_name"]
        assert record["last_name"] != original["last_name"]
        assert record["country"] != "ES"
    for original, record in pairs["email_missing"]:
        assert original["email"] and not record["email"]
    for original, record in pairs["phone_digit_typo"]:
        assert record["phone"][:-7] == original["phone"][:-7]
        assert 1 <= dedupe_truth.edit_distance(record["phone"], original["phone"]) <= 1
    for original, record in pairs["dob_day_month_swapped"]:
        year, month, day = original["date_of_birth"].split("-")
        assert record["date_of_birth"] == f"{year}-{day}-{month}"
    for original, record in pairs["address_moved"]:
        assert record["street_address"] != original["street_address"]
        assert record["country"] == original["country"]
    for original, record in pairs["accents_dropped"]:
        assert record["last_name"].isascii() or record["first_name"].isascii()
        assert record != original
    assert all(pairs[kind] for kind in ("names_swapped", "nickname", "name_typo"))


def test_keyboard_typos_hit_a_neighbouring_key():
    neighbours = dedupe_tables.KEYBOARD_NEIGHBOURS
    assert set(neighbours["s"]) == set("qweadzxc")
    assert set(neighbours["p"]) == set("ol")
    assert "m" not in neighbours["q"]


@pytest.mark.parametrize("kind", dedupe_tables.HARD_NEGATIVE_KINDS)
def test_hard_negatives_resemble_another_person_and_are_not_them(kind, test_set):
    originals, _ = _by_person(test_set)
    made = [
        (originals[person], originals[model])
        for person, (hard_kind, model) in test_set.hard_negatives.items()
        if hard_kind == kind
    ]
    assert len(made) >= 10
    for person, model in made:
        assert test_set.truth[person["id"]] != test_set.truth[model["id"]]
        if kind == "namesake":
            assert (person["first_name"], person["last_name"]) == (
                model["first_name"],
                model["last_name"],
            )
            assert not person["email"] or person["email"] != model["email"]
        else:
            assert person["last_name"] == model["last_name"]
            fold = dedupe_truth.ascii_fold
            assert fold(person["first_name"])[0] != fold(model["first_name"])[0]
            assert person["street_address"] == model["street_address"]
            assert person["postal_code"] == model["postal_code"]
        if kind == "twin":
            assert person["date_of_birth"] == model["date_of_birth"]
        if kind == "relative":
            assert person["date_of_birth"] != model["date_of_birth"] or not person["date_of_birth"]


def test_the_finder_scores_f1_of_at_least_0_95_on_a_test_mix_set_nobody_tuned_on():
    evaluation = dedupe_quality.evaluate(people=2000, seed=2, mix="test")
    assert evaluation.true_pairs > 500
    assert evaluation.f1 >= 0.95, dedupe_quality.report(evaluation, worst=5)
