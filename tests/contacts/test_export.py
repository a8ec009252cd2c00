"""Contact exports: the selector, the API (CSV and Excel), the app's Export menu and the CLI."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from leadflow.cli import main
from leadflow.contacts import selectors
from leadflow.contacts.models import Contact
from leadflow.core.exports import csv_pieces
from leadflow.core.models import ApiScope


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def xlsx_rows(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def emails(rows) -> list[str]:
    column = rows[0].index("email")
    return [row[column] for row in rows[1:]]


@pytest.fixture
def people(api, owner):
    api.post(
        "/custom-fields",
        {"key": "budget", "label": "Budget", "field_type": "number"},
    )
    api.post(
        "/custom-fields",
        {
            "key": "interests",
            "label": "Interests",
            "field_type": "multi_choice",
            "choices": ["a", "b"],
        },
    )
    company = api.post("/companies", {"name": "Initech", "domain": "initech.com"}).json()
    made = {}
    for key, data in {
        "ann": {
            "email": "ann@initech.com",
            "first_name": "Ann",
            "last_name": "Able",
            "lifecycle_stage": "mql",
            "temperature": "hot",
            "owner_id": owner.pk,
            "tags": ["vip", "eu"],
            "source": "google",
            "medium": "cpc",
            "campaign": "spring",
            "custom_fields": {"budget": 5000, "interests": ["a", "b"]},
        },
        "bob": {
            "email": "bob@baker.io",
            "phone": "+44 20 7946 0000",
            "first_name": "Bob",
            "last_name": "Baker",
            "job_title": "=1+1",
            "lifecycle_stage": "customer",
            "temperature": "warm",
            "custom_fields": {"budget": 10},
        },
        "cid": {
            "email": "cid@example.org",
            "first_name": "@Cid",
            "last_name": "-Cole",
            "tags": ["eu"],
        },
    }.items():
        response = api.post("/contacts", data)
        assert response.status_code == 201, response.content
        made[key] = response.json()
    Contact.objects.filter(pk=made["ann"]["id"]).update(
        created_at=dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
    )
    made["company"] = company
    return made


def test_header_columns_and_values(api, people, owner):
    rows = csv_rows(api.get("/contacts/export.csv?sort=created_at"))
    header = rows[0]
    assert header[:4] == ["id", "email", "phone", "first_name"]
    assert "custom.budget" in header and "custom.interests" in header
    assert header[-2:] == ["created_at", "updated_at"]
    assert emails(rows) == ["ann@initech.com", "bob@baker.io", "cid@example.org"]
    ann = dict(zip(header, rows[1], strict=True))
    assert ann["id"] == str(people["ann"]["id"])
    assert ann["company_name"] == "Initech"
    assert ann["owner_email"] == owner.email
    assert ann["tags"] == "eu; vip"
    assert ann["custom.budget"] == "5000"
    assert ann["custom.interests"] == "a; b"
    assert (ann["first_touch_source"], ann["last_touch_medium"]) == ("google", "cpc")
    assert ann["lifecycle_stage"] == "mql" and ann["temperature"] == "hot"
    assert ann["created_at"].startswith("2025-01-10")


def test_formula_cells_are_escaped_in_csv_and_excel(api, people):
    for rows in (
        csv_rows(api.get("/contacts/export.csv?sort=created_at")),
        xlsx_rows(api.get("/contacts/export.xlsx?sort=created_at")),
    ):
        header = rows[0]
        bob = dict(zip(header, rows[2], strict=True))
        cid = dict(zip(header, rows[3], strict=True))
        assert bob["job_title"] == "'=1+1"
        assert bob["phone"] == "+442079460000"  # a phone number is data, not a formula
        assert (cid["first_name"], cid["last_name"]) == ("'@Cid", "'-Cole")


def test_excel_reads_back_with_numbers_kept(api, people):
    rows = xlsx_rows(api.get("/contacts/export.xlsx?sort=created_at"))
    csv_header = csv_rows(api.get("/contacts/export.csv"))[0]
    assert list(rows[0]) == csv_header
    ann = dict(zip(rows[0], rows[1], strict=True))
    assert ann["id"] == people["ann"]["id"]
    assert ann["custom.budget"] == 5000
    assert ann["email"] == "ann@initech.com"
    assert emails(rows) == ["ann@initech.com", "bob@baker.io", "cid@example.org"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["cid@example.org", "bob@baker.io", "ann@initech.com"]),
        ("sort=last_name", ["cid@example.org", "ann@initech.com", "bob@baker.io"]),  # "-Cole" first
        ("email=BOB@baker.io", ["bob@baker.io"]),
        ("phone=%2B44+20+7946+0000", ["bob@baker.io"]),
        ("stage=customer", ["bob@baker.io"]),
        ("temperature=hot", ["ann@initech.com"]),
        ("owner=none", ["cid@example.org", "bob@baker.io"]),
        ("tag=eu&sort=created_at", ["ann@initech.com", "cid@example.org"]),
        ("q=baker", ["bob@baker.io"]),
        ("created_before=2025-02-01", ["ann@initech.com"]),
        ("created_after=2025-02-01&sort=created_at", ["bob@baker.io", "cid@example.org"]),
        ("custom.budget=10", ["bob@baker.io"]),
        ("custom.interests=a", ["ann@initech.com"]),
    ],
)
def test_every_filter_is_honoured(api, people, query, expected):
    assert emails(csv_rows(api.get(f"/contacts/export.csv?{query}"))) == expected
    assert emails(xlsx_rows(api.get(f"/contacts/export.xlsx?{query}"))) == expected


def test_owner_and_company_filters(api, people, owner):
    assert emails(csv_rows(api.get(f"/contacts/export.csv?owner={owner.pk}"))) == [
        "ann@initech.com"
    ]
    company_id = people["company"]["id"]
    assert emails(csv_rows(api.get(f"/contacts/export.csv?company={company_id}"))) == [
        "ann@initech.com"
    ]


def test_bad_filters_are_422_before_anything_is_sent(api, people):
    for query in ("stage=nope", "colour=red", "custom.nope=1", "created_after=soon", "limit=5"):
        response = api.get(f"/contacts/export.csv?{query}")
        assert response.status_code == 422, query
        assert response["Content-Type"] == "application/problem+json"


def test_scope_and_tenant_isolation(api_key_for, workspace, people, other_api):
    writer = api_key_for(workspace, scopes=[ApiScope.CONTACTS_WRITE])
    assert writer.get("/contacts/export.csv").status_code == 403
    assert writer.get("/contacts/export.xlsx").status_code == 403
    assert Client().get("/api/v1/contacts/export.csv").status_code == 401
    other_api.post("/contacts", {"email": "theirs@other-co.com"})
    assert emails(csv_rows(other_api.get("/contacts/export.csv"))) == ["theirs@other-co.com"]
    assert emails(xlsx_rows(other_api.get("/contacts/export.xlsx"))) == ["theirs@other-co.com"]


def _export_queries(api, fmt: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/contacts/export.{fmt}")
        b"".join(response.streaming_content)
    return len(queries)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_query_count_does_not_grow_with_rows(
    api, people, owner, fmt, django_assert_max_num_queries
):
    few = _export_queries(api, fmt)
    for index in range(40):
        api.post(
            "/contacts",
            {
                "email": f"n{index}@firm{index}.com",
                "company": f"Firm {index}",
                "owner_id": owner.pk,
                "tags": [f"t{index}", "all"],
            },
        )
    with django_assert_max_num_queries(few):
        response = api.get(f"/contacts/export.{fmt}")
        rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response)
    assert len(rows) == 1 + 43


def test_selector_reads_in_chunks_with_one_tag_query_per_chunk(
    workspace, owner_actor, people, monkeypatch
):
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 2)
    with CaptureQueriesContext(connection) as queries:
        rows = list(selectors.contact_export_rows(workspace, owner_actor, {}))
    assert len(rows) == 4
    tag_queries = [q for q in queries if "contacts_tag" in q["sql"] and "INNER JOIN" in q["sql"]]
    assert len(tag_queries) == 2  # 3 contacts in chunks of 2


# --- the app --------------------------------------------------------------------------------


def test_app_export_menu_links_the_current_view(api, people, workspace, owner):
    client = Client()
    client.force_login(owner)
    page = client.get(f"/w/{workspace.slug}/contacts/?stage=customer")
    html = page.content.decode()
    assert f"/w/{workspace.slug}/contacts/export.csv?stage=customer" in html
    assert f"/w/{workspace.slug}/contacts/export.xlsx?stage=customer" in html
    response = client.get(f"/w/{workspace.slug}/contacts/export.csv?stage=customer")
    assert emails(csv_rows(response)) == ["bob@baker.io"]
    assert 'filename="acme-widgets-contacts.csv"' in response["Content-Disposition"]
    response = client.get(f"/w/{workspace.slug}/contacts/export.xlsx?tag=eu&sort=created_at")
    assert emails(xlsx_rows(response)) == ["ann@initech.com", "cid@example.org"]
    assert client.get(f"/w/{workspace.slug}/contacts/export.pdf").status_code == 404


def test_app_export_bad_filter_goes_back_to_the_list(people, workspace, owner):
    client = Client()
    client.force_login(owner)
    response = client.get(f"/w/{workspace.slug}/contacts/export.csv?created_from=soon")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/w/{workspace.slug}/contacts/")


def test_app_export_keeps_a_sales_member_to_own_leads(api, people, workspace, make_member):
    sales = make_member("sales")
    api.post("/contacts", {"email": "mine@initech.com", "owner_id": sales.user.pk})
    client = Client()
    client.force_login(sales.user)
    for fmt, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        response = client.get(f"/w/{workspace.slug}/contacts/export.{fmt}")
        assert emails(read(response)) == ["mine@initech.com"]
    response = client.get(f"/w/{workspace.slug}/contacts/export.csv?owner=none")
    assert emails(csv_rows(response)) == []


def test_app_export_stays_in_the_workspace(people, other_workspace, owner):
    client = Client()
    client.force_login(owner)
    assert client.get(f"/w/{other_workspace.slug}/contacts/export.csv").status_code == 404


# --- the command line -----------------------------------------------------------------------


def test_cli_writes_csv_and_excel_files(people, workspace, tmp_path, capsys):
    target = tmp_path / "contacts.csv"
    assert main(["export", "contacts", "--workspace", workspace.slug, "--output", str(target)]) == 0
    text = target.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert sorted(emails(rows)) == ["ann@initech.com", "bob@baker.io", "cid@example.org"]
    assert "'=1+1" in text
    workbook_path = tmp_path / "contacts.xlsx"
    status = main(
        [
            "export",
            "contacts",
            "--workspace",
            workspace.slug,
            "--format",
            "xlsx",
            "--output",
            str(workbook_path),
        ]
    )
    assert status == 0
    sheet = load_workbook(workbook_path, read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 4


def test_cli_prints_csv_and_refuses_excel_on_stdout(people, workspace, capsys):
    assert main(["export", "contacts", "--workspace", workspace.slug]) == 0
    out = capsys.readouterr().out
    assert sorted(emails(list(csv.reader(io.StringIO(out))))) == [
        "ann@initech.com",
        "bob@baker.io",
        "cid@example.org",
    ]
    assert main(["export", "contacts", "--workspace", workspace.slug, "--format", "xlsx"]) == 1
    assert "--output" in capsys.readouterr().err
    assert main(["export", "contacts", "--workspace", "nope"]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err


# --- the writers ----------------------------------------------------------------------------


def test_safe_cells_are_written_as_the_slow_way_writes_them():
    from leadflow.core.exports import spreadsheet_safe

    cells = [
        "plain", "", "=1+1", "+44 20", "+442079460000", "-5", "-Cole", "@x", "\tx", "\rx",
        0, -5, 3.5, -2.25, True, None, ["a", "b"], ["=x"], dt.date(2026, 1, 2), "é=",
    ]  # fmt: skip
    rows = [cells, list(reversed(cells))] * 700  # more than one piece
    expected = io.StringIO()
    csv.writer(expected).writerows([[spreadsheet_safe(cell) for cell in row] for row in rows])
    pieces = list(csv_pieces(rows))
    assert len(pieces) == 3
    assert "".join(pieces) == expected.getvalue()


def test_large_export_is_complete_in_order_across_chunks(
    workspace, owner_actor, people, monkeypatch
):
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 7)
    for index in range(30):
        contact = Contact.objects.create(
            workspace=workspace, email=f"bulk{index:02d}@firm.com", phone=None
        )
        contact.tags.create(workspace=workspace, name=f"bulk{index:02d}")
    rows = list(selectors.contact_export_rows(workspace, owner_actor, {}, sort="created_at"))
    header = rows[0]
    bulk = [dict(zip(header, row, strict=True)) for row in rows[1:] if "bulk" in row[1]]
    assert [row["email"] for row in bulk] == [f"bulk{index:02d}@firm.com" for index in range(30)]
    assert [row["tags"] for row in bulk] == [f"bulk{index:02d}" for index in range(30)]
    assert {row["company_name"] for row in bulk} == {None}  # the writers show None as empty


def test_the_outcome_date_and_the_stage_change_are_iso_times_in_utc(api, people):
    won = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    moved = dt.datetime(2024, 4, 1, 9, 30, tzinfo=dt.UTC)
    Contact.objects.filter(pk=people["ann"]["id"]).update(
        outcome="won", outcome_at=won, stage_changed_at=moved
    )
    Contact.objects.filter(pk=people["cid"]["id"]).update(stage_changed_at=None)
    rows = csv_rows(api.get("/contacts/export.csv?sort=created_at"))
    header = rows[0]
    assert header.index("stage_changed_at") == header.index("lifecycle_stage") + 1
    assert header.index("outcome_at") == header.index("outcome") + 1
    ann, _bob, cid = (dict(zip(header, row, strict=True)) for row in rows[1:4])
    assert (ann["outcome"], ann["outcome_at"]) == ("won", "2024-05-06T07:08:09.123456+00:00")
    assert ann["stage_changed_at"] == "2024-04-01T09:30:00+00:00"
    assert (cid["outcome"], cid["outcome_at"], cid["stage_changed_at"]) == ("", "", "")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database writes the CSV on PostgreSQL only"
)
@pytest.mark.parametrize(
    ("filters", "sort"),
    [({}, "created_at"), ({}, "-updated_at"), ({}, "-last_name"), ({"tag": "eu"}, "last_name")],
)
def test_csv_written_by_the_database_reads_as_the_python_one(
    api, people, workspace, owner_actor, filters, sort
):
    api.post("/custom-fields", {"key": "ok", "label": "OK", "field_type": "boolean"})
    api.post("/custom-fields", {"key": "note", "label": "Note", "field_type": "text"})
    for data in [
        {"email": "odd@firm.com", "first_name": 'Comma, "quote"', "last_name": "line\nbreak",
         "job_title": "-5", "tags": ["=evil", "eu", "Ünï"], "custom_fields": {
             "budget": 2.5, "ok": True, "note": "@SUM(A1)", "interests": ["b"]}},
        {"phone": "+44 20 7946 0001", "first_name": "+12345", "last_name": "-1.5",
         "job_title": "\tTabbed", "custom_fields": {"budget": -7, "ok": False, "note": "-x"}},
        {"email": "blank@firm.com", "first_name": " ", "last_name": "=", "job_title": "+",
         "custom_fields": {"note": "+4420794600"}},
    ]:  # fmt: skip
        response = api.post("/contacts", data)
        assert response.status_code == 201, response.content
    Contact.objects.filter(email="blank@firm.com").update(
        created_at=dt.datetime(2024, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        outcome="lost",
        outcome_at=dt.datetime(2024, 3, 4, 5, 6, 7, 890, tzinfo=dt.UTC),
        stage_changed_at=dt.datetime(2024, 2, 3, 4, 5, 7, tzinfo=dt.UTC),
    )
    rows = selectors.contact_export_rows(workspace, owner_actor, filters, sort=sort)
    pieces = rows.csv_pieces()
    assert pieces is not None
    database = list(csv.reader(io.StringIO("".join(pieces))))
    python = list(csv.reader(io.StringIO("".join(csv_pieces(rows)))))
    assert len(python) > 2
    assert database == python
