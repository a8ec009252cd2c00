"""Segments over /api/v1: CRUD, the live count, members in keyset pages, static lists'
members, 422 naming each bad path, unknown fields refused, another workspace's id 404,
scopes checked, Idempotency-Key honoured."""

from urllib.parse import quote

from leadflow.contacts.models import Contact
from leadflow.core.models import ApiScope
from leadflow.nurture.models import Segment

US = {
    "version": 1,
    "match": "all",
    "children": [{"field": "country", "operator": "eq", "value": "US"}],
}


def contacts(workspace, n, country="US"):
    return Contact.objects.bulk_create(
        [
            Contact(workspace=workspace, email=f"{country}{i}@example.com", country=country)
            for i in range(n)
        ]
    )


def test_create_read_update_and_delete_a_dynamic_segment(api, workspace):
    contacts(workspace, 3)
    created = api.post("/segments", {"name": "Americans", "conditions": US})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["kind"] == "dynamic" and body["conditions"]["children"][0]["value"] == "US"
    segment_id = body["id"]
    # The count is live (the members come from the background refresh).
    assert api.get(f"/segments/{segment_id}/count").json() == {"count": 3, "capped": False}
    listed = api.get("/segments").json()
    assert [s["name"] for s in listed] == ["Americans"]
    changed = api.patch(f"/segments/{segment_id}", {"name": "USA"})
    assert changed.status_code == 200 and changed.json()["name"] == "USA"
    assert api.delete(f"/segments/{segment_id}").status_code == 204
    assert api.get(f"/segments/{segment_id}").status_code == 404


def test_bad_conditions_answer_422_naming_each_path(api):
    response = api.post(
        "/segments",
        {
            "name": "Bad",
            "conditions": {
                "match": "all",
                "children": [
                    {"field": "country", "operator": "eq", "value": "US"},
                    {"field": "nope", "operator": "eq", "value": 1},
                    {
                        "field": "activity.form.submitted",
                        "operator": "at_least",
                        "value": {"times": "x"},
                    },
                ],
            },
        },
    )
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    fields = sorted(error["field"] for error in response.json()["errors"])
    assert fields == ["conditions.children[1].field", "conditions.children[2].value"]


def test_unknown_fields_are_refused(api):
    response = api.post("/segments", {"name": "X", "conditions": US, "colour": "red"})
    assert response.status_code == 422
    assert "colour" in response.content.decode()


def test_another_workspaces_segment_answers_404(api, other_api, workspace):
    theirs = other_api.post("/segments", {"name": "Theirs", "kind": "static"}).json()["id"]
    for call in (
        api.get(f"/segments/{theirs}"),
        api.get(f"/segments/{theirs}/count"),
        api.get(f"/segments/{theirs}/members"),
        api.patch(f"/segments/{theirs}", {"name": "Mine"}),
        api.post(f"/segments/{theirs}/members", {"contact_ids": [1]}),
        api.delete(f"/segments/{theirs}"),
    ):
        assert call.status_code == 404, call.content
    assert Segment.objects.get(pk=theirs).name == "Theirs"


def test_a_segment_cannot_read_another_workspaces_segment(api, other_api):
    theirs = other_api.post("/segments", {"name": "Theirs", "kind": "static"}).json()["id"]
    response = api.post(
        "/segments",
        {"name": "Mine", "conditions": {"field": "segment", "operator": "in", "value": [theirs]}},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "conditions"


def test_the_live_count_of_a_draft_is_capped_and_validated(api, workspace):
    contacts(workspace, 2)
    contacts(workspace, 1, country="GB")
    assert api.post("/segments/count", {"conditions": US}).json() == {"count": 2, "capped": False}
    bad = api.post(
        "/segments/count", {"conditions": {"field": "country", "operator": "gt", "value": 1}}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "conditions.operator"


def test_static_list_members_added_paged_and_removed(api, other_api, workspace, other_workspace):
    ours = contacts(workspace, 5)
    stranger = contacts(other_workspace, 1)[0]
    segment_id = api.post("/segments", {"name": "VIP", "kind": "static"}).json()["id"]
    ids = [c.pk for c in ours] + [stranger.pk]
    added = api.post(f"/segments/{segment_id}/members", {"contact_ids": ids})
    assert added.status_code == 200
    assert sorted(added.json()["contact_ids"]) == sorted(c.pk for c in ours)
    again = api.post(f"/segments/{segment_id}/members", {"contact_ids": ids})
    assert again.json()["contact_ids"] == []
    seen, cursor = [], None
    while True:
        query = f"?limit=2{'&cursor=' + quote(cursor) if cursor else ''}"
        page = api.get(f"/segments/{segment_id}/members{query}").json()
        seen += [item["contact_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(c.pk for c in ours) and len(seen) == 5
    assert api.get(f"/segments/{segment_id}").json()["member_count"] == 5
    removed = api.post(f"/segments/{segment_id}/members/remove", {"contact_ids": [ours[0].pk]})
    assert removed.json()["contact_ids"] == [ours[0].pk]
    assert api.get(f"/segments/{segment_id}/count").json()["count"] == 4


def test_a_dynamic_segment_refuses_members_by_hand(api, workspace):
    ours = contacts(workspace, 1)
    segment_id = api.post("/segments", {"name": "Americans", "conditions": US}).json()["id"]
    response = api.post(f"/segments/{segment_id}/members", {"contact_ids": [ours[0].pk]})
    assert response.status_code == 409


def test_scopes_are_checked(api_key_for, workspace):
    reader = api_key_for(workspace, scopes=[ApiScope.CONTACTS_READ])
    assert reader.get("/segments").status_code == 200
    assert reader.post("/segments", {"name": "X", "kind": "static"}).status_code == 403
    nobody = api_key_for(workspace, scopes=[ApiScope.FORMS_READ])
    assert nobody.get("/segments").status_code == 403


def test_create_honours_the_idempotency_key(api):
    headers = {"Idempotency-Key": "seg-1"}
    first = api.post("/segments", {"name": "VIP", "kind": "static"}, headers=headers)
    second = api.post("/segments", {"name": "VIP", "kind": "static"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Segment.objects.filter(name="VIP").count() == 1
