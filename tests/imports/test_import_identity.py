"""Importing the identity fields (issue 12): columns found by their usual names, dates of
birth read like the file's other dates, values written by the set-based writer (COPY and
UPDATE ... FROM on PostgreSQL) for new and existing contacts."""

import csv
import datetime as dt

import pytest

from leadflow.contacts.models import Contact, CustomField
from leadflow.contacts.services import contact_upsert
from leadflow.imports.mapping import mapping_guess
from leadflow.imports.models import ImportStatus
from leadflow.imports.run import import_job_run
from leadflow.imports.services import import_job_create


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"


def run(workspace, actor, tmp_path, text: str, name: str = "people.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    job = import_job_create(workspace=workspace, actor=actor, path=path, filename=name)
    return import_job_run(job_id=job.pk)


@pytest.mark.parametrize(
    ("headers", "targets"),
    [
        (
            ["Address", "City", "State", "Zip", "DOB"],
            ["street_address", "city", "region", "postal_code", "date_of_birth"],
        ),
        (
            ["Address Line 1", "Town", "Province", "Postcode", "Birthday"],
            ["street_address", "city", "region", "postal_code", "date_of_birth"],
        ),
        (
            ["Street", "city", "County", "Postal Code", "Date of birth"],
            ["street_address", "city", "region", "postal_code", "date_of_birth"],
        ),
        (["Email Address", "Region", "ZIP code"], ["email", "region", "postal_code"]),
    ],
)
def test_identity_columns_are_found_by_their_usual_names(workspace, headers, targets):
    assert list(mapping_guess(headers, []).values()) == targets


def test_an_import_writes_the_identity_fields_of_new_and_existing_contacts(
    workspace, owner_actor, tmp_path
):
    contact_upsert(
        workspace=workspace,
        actor=owner_actor,
        data={"email": "old@example.org", "street_address": "1 Old Road", "city": "Bath"},
    )
    text = (
        "E-mail,Address,Town,State,ZIP,DOB\n"
        "new@example.org,10 Downing Street,London,England,sw1a  2aa,31/12/1985\n"
        "old@example.org,,York,,yo1 7hh,05/01/1990\n"
    )
    job = run(workspace, owner_actor, tmp_path, text)
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.updated_count, job.warning_count) == (1, 1, 0)
    assert job.mapping["DOB"] == "date_of_birth"
    new = Contact.objects.get(email="new@example.org")
    assert (new.street_address, new.city, new.region, new.postal_code) == (
        "10 Downing Street",
        "London",
        "England",
        "SW1A 2AA",
    )
    # 31/12 tells the file writes the day first, so 05/01 is the 5th of January
    assert new.date_of_birth == dt.date(1985, 12, 31)
    old = Contact.objects.get(email="old@example.org")
    assert (old.street_address, old.city, old.postal_code) == ("1 Old Road", "York", "YO1 7HH")
    assert old.date_of_birth == dt.date(1990, 1, 5)


def test_a_bad_date_of_birth_is_left_out_with_a_warning(workspace, owner_actor, tmp_path):
    text = "Email,Birthday,City\na@example.org,someday,Leeds\nb@example.org,1890-01-01,Hull\n"
    job = run(workspace, owner_actor, tmp_path, text)
    assert (job.created_count, job.warning_count, job.failed_count) == (2, 2, 0)
    stored = dict(Contact.objects.values_list("email", "date_of_birth"))
    assert stored == {"a@example.org": None, "b@example.org": None}
    assert Contact.objects.get(email="b@example.org").city == "Hull"
    with open(job.error_path, encoding="utf-8", newline="") as file:
        problems = [row[-1] for row in csv.reader(file)][1:]
    assert problems[0].startswith("Birthday: Not a date")
    assert problems[1] == "Birthday: Must be 1900-01-01 or later."


def test_a_custom_field_made_before_keeps_its_column(workspace):
    """A workspace that made its own "Date of birth" or "City" field before they were built
    in keeps importing into it."""
    CustomField.objects.create(
        workspace=workspace, key="date_of_birth", label="Date of birth", field_type="date"
    )
    CustomField.objects.create(workspace=workspace, key="town", label="City", field_type="text")
    definitions = list(CustomField.objects.filter(workspace=workspace))
    guessed = mapping_guess(["Email", "Date of birth", "City", "Zip"], definitions)
    assert guessed == {
        "Email": "email",
        "Date of birth": "custom_fields.date_of_birth",
        "City": "custom_fields.town",
        "Zip": "postal_code",
    }
