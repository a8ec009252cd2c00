"""The forms API: CRUD with validated field lists, submissions, CSV export."""

import csv
import io

from leadflow.capture.models import Form, Submission

from .conftest import PublicClient, good_fields, lead_form_fields


def test_form_crud(api, workspace, owner):
    from leadflow.contacts.models import CustomField

    CustomField.objects.create(
        workspace=workspace, key="team_size", label="Team size", field_type="number"
    )
    response = api.post(
        "/forms",
        {
            "name": "Demo request",
            "fields": lead_form_fields(),
            "notify_user_ids": [owner.pk],
            "allowed_origins": ["https://www.Acme-Widgets.com/"],
        },
    )
    assert response.status_code == 201, response.content
    form = response.json()
    assert form["key"].startswith("f_") and form["allowed_origins"] == [
        "https://www.acme-widgets.com"
    ]
    assert [field["name"] for field in form["fields"]][:2] == ["email", "first_name"]
    reordered = list(reversed(lead_form_fields()))
    patched = api.patch(f"/forms/{form['id']}", {"fields": reordered, "status": "disabled"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["fields"][0]["name"] == "consent"
    assert patched.json()["status"] == "disabled"
    assert api.get(f"/forms/{form['id']}").json()["key"] == form["key"]
    assert [item["id"] for item in api.get("/forms").json()["items"]] == [form["id"]]
    assert api.delete(f"/forms/{form['id']}").status_code == 204
    assert not Form.objects.exists()


def test_form_validation_names_each_problem(api):
    response = api.post(
        "/forms",
        {
            "name": "",
            "fields": [
                {"name": "Email!", "type": "email", "maps_to": "email"},
                {"name": "plan", "type": "select", "maps_to": "custom_fields.nope"},
                {"name": "ok", "type": "consent"},
            ],
            "allowed_origins": ["not an origin"],
            "notify_user_ids": [999999],
        },
    )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {
        "fields[0].name",
        "fields[1].options",
        "fields[1].maps_to",
        "fields[2].consent_text",
        "allowed_origins",
        "notify_user_ids",
    } <= fields
    response = api.post("/forms", {"name": "x", "fields": [{"name": "notes", "type": "textarea"}]})
    assert response.json()["errors"][0]["message"].startswith("Map one field")
    response = api.post("/forms", {"name": "x", "fields": [{"name": "email", "type": "colour"}]})
    assert response.status_code == 422
    assert not Form.objects.exists()


def test_submissions_list_get_and_csv_export(api, lead_form):
    public = PublicClient(lead_form)
    public.submit(good_fields(first_name='=HYPERLINK("http://evil")', message="+1 call me"))
    public.submit(good_fields(email="b@initech.com"), token=None)  # spam
    page = api.get(f"/forms/{lead_form.pk}/submissions").json()
    assert [item["status"] for item in page["items"]] == ["spam", "accepted"]
    accepted = api.get(f"/forms/{lead_form.pk}/submissions?status=accepted").json()["items"]
    assert len(accepted) == 1
    one = api.get(f"/forms/{lead_form.pk}/submissions/{accepted[0]['id']}").json()
    assert one["values"]["email"] == "jane@initech.com" and one["ip"] == "203.0.113.7"
    response = api.get(f"/forms/{lead_form.pk}/submissions.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["first_name"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["message"] == "'+1 call me"
    assert rows[0]["channels"] == "Email" and rows[0]["utm_campaign"] == "spring"
    assert Submission.objects.count() == 2


def test_forms_scopes(workspace, api_key_for, lead_form):
    reader = api_key_for(workspace, scopes=["forms:read"])
    assert reader.get("/forms").status_code == 200
    assert reader.post("/forms", {"name": "x"}).status_code == 403
    contacts_only = api_key_for(workspace, scopes=["contacts:read"])
    assert contacts_only.get(f"/forms/{lead_form.pk}/submissions").status_code == 403


def test_form_text_settings_are_bounded(api):
    from .conftest import lead_form_fields

    fields = [f for f in lead_form_fields() if "custom" not in f.get("maps_to", "")]
    response = api.post(
        "/forms",
        {
            "name": "x" * 201,
            "fields": fields,
            "submit_label": "y" * 101,
            "source_label": "z" * 201,
            "tags": ["t" * 61],
        },
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "name",
        "submit_label",
        "source_label",
        "tags",
    }


def test_spreadsheet_safe_escapes_formulas_but_not_plain_numbers():
    from leadflow.core.exports import spreadsheet_safe

    assert spreadsheet_safe("=1+1") == "'=1+1"
    assert spreadsheet_safe("+1 call me") == "'+1 call me"
    assert spreadsheet_safe("-2-3") == "'-2-3"
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("\t=cmd") == "'\t=cmd"
    assert spreadsheet_safe("+447911123456") == "+447911123456"
    assert spreadsheet_safe("-12.5") == "-12.5"
    assert spreadsheet_safe(["a", "=b"]) == "a; =b"
