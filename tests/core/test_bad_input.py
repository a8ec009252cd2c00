"""Bad input is never a 500: text no database can store, JSON nested 50,000 deep, numbers
JSON does not have and crafted cursors answer 4xx naming the field, and write nothing; an
unexpected failure on a JSON endpoint is problem+json, not the HTML error page."""

import base64
import json
import uuid

import pytest
from django.test import Client

from leadflow.capture.models import Submission
from leadflow.contacts.models import Company, Contact
from leadflow.inbound.models import Delivery
from tests.capture.conftest import PublicClient, good_fields, lead_form  # noqa: F401
from tests.inbound.conftest import leadflow_headers, make_source  # noqa: F401
from tests.web.conftest import owner_client  # noqa: F401

DEEP = "[" * 50_000 + "]" * 50_000
PROBLEM = "application/problem+json"


def cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def fields_named(response) -> set[str]:
    assert response["Content-Type"] == PROBLEM, response.content[:300]
    return {error["field"] for error in response.json()["errors"]}


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.LEADFLOW_FORM_RATE_PER_IP = 0
    settings.LEADFLOW_EVENT_RATE_PER_IP = 0
    settings.LEADFLOW_INBOUND_RATE_PER_IP = 0
    settings.LEADFLOW_API_RATE_LIMIT = 0


@pytest.fixture
def public(lead_form):  # noqa: F811
    public = PublicClient(lead_form)
    public.client.raise_request_exception = False
    return public


def post_form_json(public, body: str):
    return public.client.post(
        f"/f/{public.form.key}", body, content_type="application/json", headers=public.headers()
    )


# --- form submissions (/f) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("escaped", "field"),
    [
        ('"first_name": "Jane\\u0000"', "fields.first_name"),
        ('"message": "\\ud800"', "fields.message"),
        ('"bad\\u0000name": "x"', "fields.bad\\x00name"),
    ],
)
def test_a_submission_with_unstorable_text_names_the_field_and_stores_nothing(
    public, escaped, field
):
    token = public.config().json()["token"]
    body = (
        '{"fields": {"email": "jane@initech.com", "interest": "Demo", "consent": true, '
        f"{escaped}}}, "
        f'"submission_id": "{uuid.uuid4()}", "token": "{token}"}}'
    )
    response = post_form_json(public, body)
    assert response.status_code == 422
    assert field in fields_named(response)
    assert not Submission.objects.exists() and not Contact.objects.exists()


def test_a_submission_context_with_a_surrogate_is_refused(public):
    body = json.dumps({"fields": good_fields(), "context": {"page_url": "\ud800"}})
    response = post_form_json(public, body)
    assert response.status_code == 422
    assert fields_named(response) == {"context.page_url"}
    assert not Submission.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        '{"fields": ' + DEEP + "}",
        '{"fields": {"team_size": NaN}}',
        '{"fields": {"team_size": 1e400}}',
    ],
    ids=["nested 50,000 deep", "NaN", "a number past float"],
)
def test_json_that_is_too_deep_or_not_a_json_number_is_a_422(public, body):
    response = post_form_json(public, body)
    assert response.status_code == 422
    assert fields_named(response) == {"body"}
    assert not Submission.objects.exists()


def test_a_plain_html_post_with_a_nul_names_the_field_on_a_page(public):
    response = public.client.post(
        f"/f/{public.form.key}",
        "email=jane%40initech.com&first_name=Ja%00ne&interest=Demo&consent=on",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"first_name" in response.content
    assert not Submission.objects.exists()


def test_a_multipart_post_with_a_nul_is_refused_too(public):
    response = public.client.post(
        f"/f/{public.form.key}",
        {"email": "jane@initech.com", "first_name": "Ja\x00ne", "interest": "Demo"},
    )
    assert response.status_code == 400
    assert not Submission.objects.exists()


# --- events (/e) and webhooks (/in) ----------------------------------------------------------


def test_an_event_batch_nested_50000_deep_is_a_422(workspace):
    body = '{"key": "' + workspace.public_key + '", "events": ' + DEEP + "}"
    response = Client(raise_request_exception=False).post(
        "/e", body, content_type="text/plain", headers={"Origin": "https://www.acme-widgets.com"}
    )
    assert response.status_code == 422
    assert fields_named(response) == {"body"}
    assert response["Access-Control-Allow-Origin"] == "https://www.acme-widgets.com"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"email": "x@initech.com", "name": "\\ud800"}', "name: Contains an unpaired surrogate"),
        ('{"email": "x@initech.com", "name": "A\\u0000"}', "name: Contains a NUL"),
        ('{"email": ' + DEEP + "}", "nested more than"),
    ],
    ids=["surrogate", "NUL", "nested 50,000 deep"],
)
def test_a_webhook_body_with_unstorable_text_or_too_deep_is_refused_and_logged(
    make_source,  # noqa: F811
    body,
    reason,
):
    source = make_source("generic", mapping={"fields": {"email": "email", "name": "full_name"}})
    raw = body.encode()
    response = Client(raise_request_exception=False).post(
        f"/in/{source.key}",
        raw,
        content_type="application/json",
        headers=leadflow_headers(raw, source.secret),
    )
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert reason in response.json()["detail"]
    assert not Contact.objects.exists()
    assert Delivery.objects.get().status == "rejected"


def test_a_webhook_body_with_a_raw_nul_byte_is_kept_readable(make_source):  # noqa: F811
    source = make_source("generic", mapping={"fields": {"email": "email"}})
    raw = b'{"email": "x@initech.com"}\x00'
    response = Client(raise_request_exception=False).post(
        f"/in/{source.key}",
        raw,
        content_type="application/json",
        headers=leadflow_headers(raw, source.secret),
    )
    assert response.status_code == 400
    assert Delivery.objects.get().body == '{"email": "x@initech.com"}\ufffd'


# --- the API -------------------------------------------------------------------------------


@pytest.fixture
def quiet_api(api):
    api.client.raise_request_exception = False
    return api


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"email": "q@initech.com", "first_name": "\\ud800"}', "first_name"),
        ('{"email": "q@initech.com", "first_name": "Q\\u0000"}', "first_name"),
        ('{"email": "q@initech.com", "custom_fields": {"k": ["\\udfff"]}}', "custom_fields.k.0"),
        ('{"email": ' + DEEP + "}", "body"),
    ],
    ids=["surrogate", "NUL", "surrogate in a list", "nested 50,000 deep"],
)
def test_an_api_body_with_unstorable_text_names_the_field(quiet_api, body, field):
    response = quiet_api.post("/contacts", body)
    assert response.status_code == 422
    assert fields_named(response) == {field}
    assert not Contact.objects.exists()


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(quiet_api):
    response = quiet_api.get("/contacts?q=a%00b")
    assert response.status_code == 400
    assert fields_named(response) == {"q"}


@pytest.mark.parametrize(
    "values",
    [
        ["2026-01-01T00:00:00+00:00", "abc"],
        ["2026-01-01T00:00:00+00:00", 10**30],
        ["9999-12-31T23:59:59-23:00", 1],
    ],
)
def test_a_crafted_cursor_is_a_422_on_every_list(quiet_api, workspace, values):
    for path in ("/contacts", "/forms", "/imports"):
        response = quiet_api.get(f"{path}?cursor={cursor(values)}")
        assert response.status_code == 422, (path, response.content[:300])
        assert fields_named(response) == {"cursor"}


@pytest.mark.parametrize("values", [[{"a": 1}, 1], ["Acme", 10**30], ["\u0000", 1]])
def test_a_crafted_cursor_on_a_name_sorted_list_is_a_422(quiet_api, workspace, values):
    response = quiet_api.get(f"/companies?sort=name&cursor={cursor(values)}")
    assert response.status_code == 422
    assert fields_named(response) == {"cursor"}


def test_an_unexpected_failure_in_the_api_is_problem_json(quiet_api, monkeypatch):
    from leadflow.contacts import api as contacts_api

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(contacts_api.selectors, "contact_list", broken)
    response = quiet_api.get("/contacts")
    assert response.status_code == 500
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "server_error"


# --- app list pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "cursor=" + cursor(["2026-01-01T00:00:00+00:00", "abc"]),
        "cursor=" + cursor(["9999-12-31T23:59:59-23:00", 1]),
        "q=a%00b",
    ],
)
def test_app_list_pages_answer_bad_parameters_without_a_server_error(
    owner_client,  # noqa: F811
    workspace,
    query,
):
    owner_client.raise_request_exception = False
    Company.objects.create(workspace=workspace, name="Acme")
    for page in ("contacts/", "companies/", "duplicates/", "settings/audit/"):
        response = owner_client.get(f"/w/{workspace.slug}/{page}?{query}")
        assert response.status_code in (200, 400), (page, response.status_code)


def test_an_id_no_row_can_have_answers_404_not_an_overflow(quiet_api, owner_client, workspace):  # noqa: F811
    owner_client.raise_request_exception = False
    huge = "9" * 30
    response = quiet_api.post(f"/lead-sources/{huge}/deliveries/1/replay")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert owner_client.get(f"/w/{workspace.slug}/contacts/{huge}/").status_code == 404


def test_a_workspace_setting_given_as_null_is_a_422_naming_it(quiet_api):
    response = quiet_api.patch("/workspace", {"name": None, "sales_sees_all_leads": None})
    assert response.status_code == 422
    assert fields_named(response) == {"name", "sales_sees_all_leads"}


def test_a_filter_id_written_in_other_digits_is_not_a_server_error(owner_client, workspace):  # noqa: F811
    owner_client.raise_request_exception = False
    for query in ("company=%C2%B2", f"owner={'9' * 30}", f"company={'9' * 30}"):
        response = owner_client.get(f"/w/{workspace.slug}/contacts/?{query}")
        assert response.status_code == 200, query


def test_a_form_encoded_body_sent_to_a_json_api_route_is_a_4xx(quiet_api):
    for headers in ({}, {"Idempotency-Key": "k1"}):
        response = quiet_api.client.post(
            "/api/v1/contacts",
            {"email": "a@initech.com", "first_name": "A\x00"},
            headers={**quiet_api.headers, **headers},
        )
        assert 400 <= response.status_code < 500, response.content[:200]
        assert response["Content-Type"] == PROBLEM
    assert not Contact.objects.exists()
