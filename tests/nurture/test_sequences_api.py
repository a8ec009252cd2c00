"""Sequences over /api/v1/nurture: create, change, activate, enrol, per-step figures, the
enrolments list and taking a contact out; 422 naming each bad field, another workspace's
id 404, scopes checked."""

from leadflow.contacts.models import Contact
from leadflow.core.models import ApiScope
from leadflow.nurture.models import Enrollment, Sequence
from leadflow.nurture.services.sequence_runner import sequences_run

STEPS = [
    {"id": 1, "type": "tag", "tag": "welcomed", "next": 2},
    {"id": 2, "type": "wait", "seconds": 86400, "next": None},
]


def people(workspace, n):
    return Contact.objects.bulk_create(
        [Contact(workspace=workspace, email=f"p{i}@example.com") for i in range(n)]
    )


def test_a_sequence_is_built_activated_and_walked_over_the_api(api, workspace):
    created = api.post("/nurture/sequences", {"name": "Welcome", "steps": STEPS})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["trigger"] == {"kind": "manual"}
    sequence_id = body["id"]
    # A draft enrols no one.
    who = [c.pk for c in people(workspace, 3)]
    refused = api.post(f"/nurture/sequences/{sequence_id}/enrollments", {"contact_ids": who})
    assert refused.status_code == 422
    active = api.post(f"/nurture/sequences/{sequence_id}/status", {"status": "active"})
    assert active.status_code == 200 and active.json()["status"] == "active"
    enrolled = api.post(f"/nurture/sequences/{sequence_id}/enrollments", {"contact_ids": who})
    assert enrolled.json() == {"contact_ids": sorted(who)}
    again = api.post(f"/nurture/sequences/{sequence_id}/enrollments", {"contact_ids": who})
    assert again.json() == {"contact_ids": []}
    sequences_run()
    detail = api.get(f"/nurture/sequences/{sequence_id}").json()
    figures = {row["step"]: row for row in detail["step_figures"]}
    assert (figures[1]["passed"], figures[1]["waiting"]) == (3, 0)
    assert (figures[2]["passed"], figures[2]["waiting"]) == (0, 3)
    assert (detail["enrolled"], detail["in_sequence"]) == (3, 3)
    waiting = api.get(f"/nurture/sequences/{sequence_id}/enrollments?step=2&limit=2").json()
    assert len(waiting["items"]) == 2 and waiting["next_before_id"]
    first = waiting["items"][0]["id"]
    removed = api.post(f"/nurture/enrollments/{first}/remove", {"reason": "Asked us to stop"})
    assert removed.status_code == 200 and removed.json()["status"] == "removed"
    assert api.post(f"/nurture/enrollments/{first}/remove", {}).status_code == 409
    listed = api.get("/nurture/sequences").json()
    assert [(s["name"], s["enrolled"], s["in_sequence"]) for s in listed] == [("Welcome", 3, 2)]
    # Contacts went through it: it cannot be deleted, only archived.
    assert api.delete(f"/nurture/sequences/{sequence_id}").status_code == 409
    archived = api.post(f"/nurture/sequences/{sequence_id}/status", {"status": "archived"})
    assert archived.json()["status"] == "archived"
    assert api.get("/nurture/sequences").json() == []


def test_bad_input_answers_422_naming_each_field_and_writes_nothing(api, workspace):
    response = api.post(
        "/nurture/sequences",
        {
            "name": "",
            "trigger": {"kind": "segment.entered"},
            "steps": [{"id": 1, "type": "wait", "seconds": "soon"}, "x"],
            "goal": {"match": "all", "children": [{"field": "nope", "operator": "eq"}]},
        },
    )
    assert response.status_code == 422, response.content
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"name", "trigger.segment_id", "steps[0].seconds", "steps[1]"} <= fields
    assert any(field.startswith("goal") for field in fields)
    unknown = api.post("/nurture/sequences", {"name": "X", "colour": "red"})
    assert unknown.status_code == 422
    assert not Sequence.objects.exists()


def test_another_workspaces_sequence_is_404_and_scopes_are_checked(
    api, other_api, api_key_for, workspace
):
    sequence_id = api.post("/nurture/sequences", {"name": "Mine", "steps": STEPS}).json()["id"]
    assert other_api.get(f"/nurture/sequences/{sequence_id}").status_code == 404
    assert other_api.patch(f"/nurture/sequences/{sequence_id}", {"name": "x"}).status_code == 404
    reader = api_key_for(workspace, scopes=[ApiScope.CONTACTS_READ])
    assert reader.get(f"/nurture/sequences/{sequence_id}").status_code == 200
    assert reader.patch(f"/nurture/sequences/{sequence_id}", {"name": "x"}).status_code == 403
    assert Sequence.objects.get(pk=sequence_id).name == "Mine"
    assert not Enrollment.objects.exists()
