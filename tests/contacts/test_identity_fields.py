"""The identity fields (issue 12): street address, city, region, postal code and date of
birth, cleaned once and carried by every write path, the API, exports, conditions, merges."""

import csv
import datetime as dt
import io
import json
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook

from leadflow.contacts import selectors, services
from leadflow.contacts.inputs import contact_input_clean
from leadflow.contacts.kind_writers import form_submitted_data
from leadflow.contacts.models import Contact
from leadflow.contacts.services import Arrival, lead_receive
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed
from leadflow.core.exports import csv_pieces

ADDRESS = {
    "street_address": "  221B Baker Street ",
    "city": "London",
    "region": "Greater London",
    "postal_code": " nw1   6xe ",
    "date_of_birth": "1987-04-12",
}


def _problems(workspace, data) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failure:
        contact_input_clean(workspace=workspace, data=data, partial=True)
    return {error.field: error.message for error in failure.value.errors}


def test_cleaning_trims_and_uppercases_the_postal_code(workspace):
    clean = contact_input_clean(workspace=workspace, data=ADDRESS, partial=True)
    assert clean == {
        "street_address": "221B Baker Street",
        "city": "London",
        "region": "Greater London",
        "postal_code": "NW1 6XE",
        "date_of_birth": dt.date(1987, 4, 12),
    }
    blank = contact_input_clean(
        workspace=workspace, data={"city": None, "date_of_birth": ""}, partial=True
    )
    assert blank == {"city": "", "date_of_birth": None}


def test_cleaning_names_each_bad_identity_field(workspace):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    found = _problems(
        workspace,
        {
            "street_address": "x" * 201,
            "city": 12,
            "region": "r" * 101,
            "postal_code": "9" * 21,
            "date_of_birth": tomorrow,
        },
    )
    assert found == {
        "street_address": "At most 200 characters.",
        "city": "Must be text.",
        "region": "At most 100 characters.",
        "postal_code": "At most 20 characters.",
        "date_of_birth": "The date is in the future.",
    }
    assert _problems(workspace, {"date_of_birth": "1899-12-31"}) == {
        "date_of_birth": "Must be 1900-01-01 or later."
    }
    assert _problems(workspace, {"date_of_birth": "12/04/1987"}) == {
        "date_of_birth": "Not a date: use YYYY-MM-DD."
    }
    assert _problems(workspace, {"date_of_birth": 1987}) == {
        "date_of_birth": "Must be a date (YYYY-MM-DD)."
    }


def test_api_creates_reads_and_updates_the_identity_fields(api):
    created = api.post("/contacts", {"email": "sherlock@example.org", **ADDRESS})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["street_address"], body["postal_code"]) == ("221B Baker Street", "NW1 6XE")
    assert body["date_of_birth"] == "1987-04-12"
    read = api.get(f"/contacts/{body['id']}").json()
    assert (read["city"], read["region"]) == ("London", "Greater London")
    changed = api.patch(f"/contacts/{body['id']}", {"city": "Bath", "date_of_birth": None})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["city"], changed.json()["date_of_birth"]) == ("Bath", None)
    assert changed.json()["street_address"] == "221B Baker Street"  # untouched
    contact = Contact.objects.get(pk=body["id"])
    assert (contact.city, contact.date_of_birth) == ("Bath", None)


def test_api_answers_422_naming_bad_identity_fields(api):
    future = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    response = api.post(
        "/contacts",
        {"email": "a@example.org", "postal_code": "1" * 30, "date_of_birth": future},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"postal_code", "date_of_birth"}
    for garbled in ("soon", 1987, "1987-02-30"):
        response = api.post("/contacts", {"email": "a@example.org", "date_of_birth": garbled})
        assert response.status_code == 422, garbled
        assert [e["field"] for e in response.json()["errors"]] == ["date_of_birth"]
    assert not Contact.objects.filter(email="a@example.org").exists()


def test_an_upsert_sets_them_and_a_later_one_keeps_what_it_does_not_name(workspace):
    first = services.contact_upsert(
        workspace=workspace, data={"email": "m@example.org", **ADDRESS}, actor=Actor.system()
    )
    assert first.contact.postal_code == "NW1 6XE"
    again = services.contact_upsert(
        workspace=workspace, data={"email": "m@example.org", "city": "York"}, actor=Actor.system()
    )
    again.contact.refresh_from_db()
    assert (again.contact.city, again.contact.street_address) == ("York", "221B Baker Street")
    assert again.contact.date_of_birth == dt.date(1987, 4, 12)


# --- exports ---------------------------------------------------------------------------------


@pytest.fixture
def addressed(api):
    for data in (
        {"email": "sherlock@example.org", **ADDRESS, "street_address": "=HYPERLINK(1)"},
        {"email": "blank@example.org"},
    ):
        assert api.post("/contacts", data).status_code == 201


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def test_exports_have_the_identity_columns(api, addressed):
    rows = _csv(api.get("/contacts/export.csv?sort=created_at"))
    assert list(rows[0])[7:13] == [
        "country",
        "street_address",
        "city",
        "region",
        "postal_code",
        "date_of_birth",
    ]
    sherlock, blank = rows
    assert sherlock["street_address"] == "'=HYPERLINK(1)"  # text is formula-safe
    assert (sherlock["postal_code"], sherlock["date_of_birth"]) == ("NW1 6XE", "1987-04-12")
    assert (blank["city"], blank["date_of_birth"]) == ("", "")
    response = api.get("/contacts/export.xlsx?sort=created_at")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    header, first, _ = [list(row) for row in book.active.iter_rows(values_only=True)]
    cells = dict(zip(header, first, strict=True))
    assert (cells["street_address"], cells["city"]) == ("'=HYPERLINK(1)", "London")
    assert cells["date_of_birth"] == "1987-04-12"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database writes the CSV on PostgreSQL only"
)
def test_the_database_csv_writes_the_identity_columns_as_python_does(
    addressed, workspace, owner_actor
):
    rows = selectors.contact_export_rows(workspace, owner_actor, {}, sort="created_at")
    pieces = rows.csv_pieces()
    assert pieces is not None
    database = list(csv.reader(io.StringIO("".join(pieces))))
    assert database == list(csv.reader(io.StringIO("".join(csv_pieces(rows)))))
    assert "1987-04-12" in database[1]


# --- conditions ------------------------------------------------------------------------------


def _found(api, *children) -> list[str]:
    tree = {"version": 1, "children": list(children)}
    response = api.get(f"/contacts?conditions={quote(json.dumps(tree))}")
    assert response.status_code == 200, response.content
    return sorted(item["email"] for item in response.json()["items"])


def test_conditions_filter_by_city_postal_code_and_date_of_birth(api):
    for email, city, postal_code, born in (
        ("a@example.org", "London", "NW1 6XE", "1980-01-01"),
        ("b@example.org", "Leeds", "LS1 4AP", "1995-06-30"),
        ("c@example.org", "", "", ""),
    ):
        response = api.post(
            "/contacts",
            {"email": email, "city": city, "postal_code": postal_code, "date_of_birth": born},
        )
        assert response.status_code == 201, response.content
    assert _found(api, {"field": "city", "operator": "eq", "value": "London"}) == ["a@example.org"]
    assert _found(api, {"field": "postal_code", "operator": "starts_with", "value": "ls1"}) == [
        "b@example.org"
    ]
    assert _found(api, {"field": "city", "operator": "is_empty"}) == ["c@example.org"]
    assert _found(api, {"field": "date_of_birth", "operator": "lt", "value": "1990-01-01"}) == [
        "a@example.org"
    ]
    assert _found(api, {"field": "date_of_birth", "operator": "is_empty"}) == ["c@example.org"]
    bad = {"field": "date_of_birth", "operator": "eq", "value": "soon"}
    tree = quote(json.dumps({"version": 1, "children": [bad]}))
    assert api.get(f"/contacts?conditions={tree}").status_code == 422


# --- merge -----------------------------------------------------------------------------------


def test_a_merge_keeps_the_non_empty_address(workspace, owner_actor):
    system = Actor.system()
    with_address = services.contact_upsert(
        workspace=workspace, data={"email": "old@example.org", **ADDRESS}, actor=system
    ).contact
    without = services.contact_upsert(
        workspace=workspace, data={"email": "new@example.org", "city": ""}, actor=system
    ).contact
    Contact.objects.filter(pk=with_address.pk).update(
        updated_at=timezone.now() - dt.timedelta(days=30)
    )
    merged = services.contact_merge(
        workspace=workspace, primary_id=without.pk, secondary_id=with_address.pk, actor=owner_actor
    )
    merged.refresh_from_db()
    assert merged.email == "new@example.org"
    assert (merged.street_address, merged.city, merged.region) == (
        "221B Baker Street",
        "London",
        "Greater London",
    )
    assert (merged.postal_code, merged.date_of_birth) == ("NW1 6XE", dt.date(1987, 4, 12))


# --- lead_receive: both paths ----------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_a_lead_arrives_with_its_address_on_either_path(workspace, settings, fast):
    settings.LEADFLOW_CAPTURE_FAST_PATH = fast
    submitted = form_submitted_data(
        form_id=1,
        form="Signup",
        submission_id="5f0c0a4e-0000-4000-8000-000000000002",
        page_url="https://www.example.org/signup",
        referrer="",
        utm={},
        values={"email": "lead@example.org"},
    )
    arrival = Arrival(
        actor=Actor.system("form: Signup"),
        submitted=submitted,
        stage="lead",
        stage_reason="form Signup",
        consent_granted=False,
    )
    data = {"email": "lead@example.org", **ADDRESS}
    data.pop("date_of_birth")
    received = lead_receive(workspace=workspace, contact=data, arrival=arrival)
    assert received.fast == (fast and connection.vendor == "postgresql")
    contact = Contact.objects.get(pk=received.contact.pk)
    assert (contact.street_address, contact.city, contact.region, contact.postal_code) == (
        "221B Baker Street",
        "London",
        "Greater London",
        "NW1 6XE",
    )
    born = lead_receive(
        workspace=workspace,
        contact={"email": "born@example.org", "date_of_birth": "1990-05-06"},
        arrival=arrival,
    )
    assert not born.fast  # a date of birth takes the ORM path
    assert Contact.objects.get(pk=born.contact.pk).date_of_birth == dt.date(1990, 5, 6)
