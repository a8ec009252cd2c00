"""Deals through /api/v1: create (idempotent), bad input named, list filters and keyset
pages with a pinned query count, moves, win / lose / reopen, conversion, pipelines and
stages, the forecast, and another workspace's ids."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.contacts.models import Contact
from leadflow.deals.models import Deal

pytestmark = pytest.mark.django_db


def test_a_create_with_an_idempotency_key_stores_once_and_replays(api, lead):
    body = {"title": "Big one", "contact_id": lead.pk, "amount": "1500.5"}
    first = api.post("/deals", body, headers={"Idempotency-Key": "k1"})
    again = api.post("/deals", body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201 and again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert first.json()["amount"] == "1500.50" and first.json()["stage"] == "New"
    assert Deal.objects.count() == 1


def test_bad_input_answers_422_naming_each_field(api, other_contact):
    response = api.post(
        "/deals",
        {"title": "x", "amount": -5, "probability": 101, "currency": "EURO", "colour": 1},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "amount",
        "probability",
        "colour",
    }
    response = api.post(
        "/deals", {"title": "x", "currency": "EURO", "contact_id": other_contact.pk}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"currency", "contact_id"}
    assert api.get("/deals?status=closed").status_code == 422
    bad = api.get("/deals?close_month=June&colour=red")
    assert {e["field"] for e in bad.json()["errors"]} == {"colour"}
    assert api.get("/deals?close_month=June").json()["errors"][0]["field"] == "close_month"
    assert not Deal.objects.exists()


def test_the_list_filters_and_pages_in_a_fixed_number_of_queries(api, make_deal, owner, stages):
    for index in range(7):
        make_deal(title=f"Deal {index}", expected_close_date=f"2031-0{1 + index % 2}-15")
    make_deal(title="Elsewhere", stage_id=stages["Proposal"].pk, owner_id=None)
    with CaptureQueriesContext(connection) as queries:
        page = api.get("/deals?limit=3&sort=-created_at")
    assert page.status_code == 200 and len(page.json()["items"]) == 3
    assert len(queries) <= 4, [q["sql"] for q in queries]
    seen = [item["title"] for item in page.json()["items"]]
    while cursor := page.json()["next_cursor"]:
        page = api.get(f"/deals?limit=3&sort=-created_at&cursor={cursor}")
        seen += [item["title"] for item in page.json()["items"]]
    assert len(seen) == len(set(seen)) == 8
    january = api.get("/deals?close_month=2031-01").json()["items"]
    assert len(january) == 4
    assert [
        d["title"] for d in api.get(f"/deals?stage_id={stages['Proposal'].pk}").json()["items"]
    ] == ["Elsewhere"]
    assert len(api.get(f"/deals?owner_id={owner.pk}").json()["items"]) == 7
    assert api.get("/deals?q=elsewhere").json()["items"][0]["title"] == "Elsewhere"


def test_move_win_lose_reopen_and_delete(api, lead, stages):
    deal = api.post("/deals", {"contact_id": lead.pk}).json()
    moved = api.post(f"/deals/{deal['id']}/move", {"stage_id": stages["Proposal"].pk})
    assert moved.json()["stage"] == "Proposal" and moved.json()["probability"] == 50
    refused = api.post(f"/deals/{deal['id']}/move", {"stage_id": stages["Lost"].pk})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "reason"
    assert api.post(f"/deals/{deal['id']}/lose", {"reason": ""}).status_code == 422
    lost = api.post(f"/deals/{deal['id']}/lose", {"reason": "Price"})
    assert lost.json()["status"] == "lost" and lost.json()["lost_reason"] == "Price"
    reopened = api.post(f"/deals/{deal['id']}/reopen", {})
    assert reopened.json()["stage"] == "Proposal"
    won = api.post(f"/deals/{deal['id']}/win")
    assert won.json()["status"] == "won"
    assert Contact.objects.get(pk=lead.pk).lifecycle_stage == "customer"
    assert api.delete(f"/deals/{deal['id']}").status_code == 204
    assert api.get(f"/deals/{deal['id']}").status_code == 404


def test_converting_a_lead_through_the_api(api, lead):
    response = api.post(f"/contacts/{lead.pk}/convert-to-deal", {"amount": 300})
    assert response.status_code == 201
    assert response.json()["contact_id"] == lead.pk
    assert Contact.objects.get(pk=lead.pk).lifecycle_stage == "opportunity"


def test_pipelines_and_stages_crud_and_reorder(api, workspace):
    [sales] = api.get("/pipelines").json()
    created = api.post(
        "/pipelines",
        {
            "name": "Renewals",
            "stages": [
                {"name": "Due", "probability": 60},
                {"name": "Renewed", "probability": 100, "kind": "won"},
            ],
        },
    )
    assert created.status_code == 201
    renewals = created.json()
    assert [s["name"] for s in renewals["stages"]] == ["Due", "Renewed"]
    stage = api.post(f"/pipelines/{renewals['id']}/stages", {"name": "Quoted", "probability": 80})
    assert stage.status_code == 201
    ids = [s["id"] for s in api.get(f"/pipelines/{renewals['id']}").json()["stages"]]
    assert ids[1] == stage.json()["id"]  # before the won stage
    reordered = api.post(f"/pipelines/{renewals['id']}/reorder", {"stage_ids": ids[::-1]})
    assert [s["id"] for s in reordered.json()["stages"]] == ids[::-1]
    assert api.patch(f"/stages/{ids[0]}", {"probability": 150}).status_code == 422
    assert api.patch(f"/stages/{ids[0]}", {"name": "Due soon"}).json()["name"] == "Due soon"
    assert api.patch(f"/pipelines/{renewals['id']}", {"position": 0}).json()["position"] == 0
    assert api.delete(f"/stages/{stage.json()['id']}").status_code == 204
    assert api.delete(f"/pipelines/{sales['id']}").status_code == 204
    assert api.delete(f"/pipelines/{renewals['id']}").status_code == 409


def test_the_forecast_endpoint(api, make_deal):
    make_deal(title="A", amount="1000", expected_close_date="2031-06-10")
    body = api.get("/deals/forecast").json()
    assert body["by_month"] == [
        {
            "month": "2031-06-01",
            "currency": "USD",
            "deals": 1,
            "total": "1000.00",
            "weighted": "100.00",
        }
    ]
    assert body["stages"][0]["entered"] == 1
    assert api.get("/deals/forecast?pipeline_id=999999").status_code == 404


def test_a_key_without_write_scope_cannot_change_deals(workspace, api_key_for, make_deal):
    deal = make_deal()
    reader = api_key_for(workspace, scopes=["contacts:read"])
    assert reader.get(f"/deals/{deal.pk}").status_code == 200
    assert reader.post(f"/deals/{deal.pk}/win").status_code == 403
    assert reader.post("/pipelines", {"name": "x"}).status_code == 403
    assert Deal.objects.get(pk=deal.pk).status == "open"
