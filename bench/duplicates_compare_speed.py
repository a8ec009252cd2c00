"""Speed of the duplicate finder's pure-Python stages, on Faker people (no database).

Prints persons normalised per second, blocking keys per second, and pairs compared per
second by `pairs_compare` (on 100,000 pairs: half random, half a person with a corrupted
copy, so every branch of the comparisons runs) and by the engine's indexed path. Run:

    PYTHONPATH=src .venv/bin/python bench/duplicates_compare_speed.py [pairs]
"""

import random
import sys
import time

import numpy as np
from faker import Faker

from leadflow.duplicates.blocking import person_keys
from leadflow.duplicates.compare import PersonTable, comparisons_for, pairs_compare, table_compare
from leadflow.duplicates.records import person_normalise


def people(count: int, seed: int = 7) -> list[dict]:
    fake = Faker("en_US")
    Faker.seed(seed)
    chance = random.Random(seed)
    rows = []
    for index in range(count):
        first, last = fake.first_name(), fake.last_name()
        rows.append(
            {
                "id": index + 1,
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}{chance.randint(1, 99)}@{fake.free_email_domain()}",
                "phone": fake.numerify("+1##########") if chance.random() < 0.6 else "",
                "date_of_birth": fake.date_of_birth() if chance.random() < 0.5 else None,
                "street_address": fake.street_address(),
                "city": fake.city(),
                "postal_code": fake.postcode(),
                "country": "US",
                "company_name": fake.company() if chance.random() < 0.3 else "",
            }
        )
    return rows


def corrupted(row: dict, chance: random.Random, new_id: int) -> dict:
    copy = dict(row, id=new_id)
    name = copy["first_name"]
    position = chance.randrange(len(name))
    copy["first_name"] = name[:position] + name[position + 1 :]
    if chance.random() < 0.3:
        copy["first_name"], copy["last_name"] = copy["last_name"], copy["first_name"]
    if chance.random() < 0.3:
        copy["email"] = ""
    return copy


def main(pairs: int = 100_000) -> None:
    rows = people(20_000)
    chance = random.Random(11)
    started = time.perf_counter()
    persons = [person_normalise(row) for row in rows]
    normalise = time.perf_counter() - started
    twins = [
        person_normalise(corrupted(rows[i % len(rows)], chance, 100_000 + i))
        for i in range(pairs // 2)
    ]
    started = time.perf_counter()
    for person in persons:
        person_keys(person)
    keys = time.perf_counter() - started

    generator = np.random.default_rng(3)
    left = generator.integers(0, len(persons), pairs // 2)
    right = generator.integers(0, len(persons), pairs // 2)
    lefts = [persons[i] for i in left] + [persons[i % len(persons)] for i in range(pairs // 2)]
    rights = [persons[i] for i in right] + twins
    comparisons = comparisons_for(None)
    started = time.perf_counter()
    pairs_compare(lefts, rights, comparisons)
    compare = time.perf_counter() - started

    everyone = persons + twins
    table = PersonTable(everyone)
    left_index = np.r_[left, np.arange(pairs // 2) % len(persons)]
    right_index = np.r_[right, len(persons) + np.arange(pairs // 2)]
    started = time.perf_counter()
    table_compare(table.take(left_index), table.take(right_index), comparisons)
    indexed = time.perf_counter() - started

    print(f"person_normalise: {len(persons) / normalise:,.0f} persons/s")
    print(f"person_keys:      {len(persons) / keys:,.0f} persons/s")
    print(f"pairs_compare:    {pairs / compare:,.0f} pairs/s ({pairs:,} pairs in {compare:.2f} s)")
    print(f"indexed compare:  {pairs / indexed:,.0f} pairs/s ({pairs:,} pairs in {indexed:.2f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
