"""The API side: accept / reject an MQL, the scores on the contact, sorting by them."""

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor


def mql(workspace, email: str) -> Contact:
    return contact_upsert(
        workspace=workspace, data={"email": email, "lifecycle_stage": "mql"}, actor=Actor.system()
    ).contact


def test_accept_and_reject_over_the_api(api, workspace):
    first, second = mql(workspace, "a@x.example"), mql(workspace, "b@x.example")
    accepted = api.post(f"/contacts/{first.pk}/accept", {})
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["lifecycle_stage"] == "sql"
    again = api.post(f"/contacts/{first.pk}/accept", {})
    assert again.status_code == 409
    blank = api.post(f"/contacts/{second.pk}/reject", {"reason": "  "})
    assert blank.status_code == 422
    assert [e["field"] for e in blank.json()["errors"]] == ["reason"]
    missing = api.post(f"/contacts/{second.pk}/reject", {})
    assert missing.status_code == 422
    rejected = api.post(f"/contacts/{second.pk}/reject", {"reason": "Student"})
    assert rejected.json()["lifecycle_stage"] == "nurture"
    change = Activity.objects.filter(contact_id=second.pk, kind="stage.changed").latest("pk")
    assert change.data["reason"] == "Student" and change.actor_api_key_id is not None


def test_another_workspaces_mql_is_not_found(api, other_workspace):
    theirs = mql(other_workspace, "a@x.example")
    assert api.post(f"/contacts/{theirs.pk}/accept", {}).status_code == 404
    assert api.post(f"/contacts/{theirs.pk}/reject", {"reason": "x"}).status_code == 404
    assert Contact.objects.get(pk=theirs.pk).lifecycle_stage == "mql"


def test_the_contact_carries_its_scores(api, workspace):
    contact = mql(workspace, "a@x.example")
    Contact.objects.filter(pk=contact.pk).update(
        engagement_score=42.5, fit_grade="B", conversion_probability=0.25, funnel_section="middle"
    )
    body = api.get(f"/contacts/{contact.pk}").json()
    assert body["engagement_score"] == 42.5
    assert (body["fit_grade"], body["conversion_probability"]) == ("B", 0.25)
    assert (body["funnel_section"], body["outcome"], body["outcome_at"]) == ("middle", "", None)
    assert body["stage_changed_at"] is not None


def test_sorting_by_probability_pages_through_contacts_without_one(api, workspace):
    probabilities = [0.5, None, 0.9, None, 0.5, 0.1]
    for index, value in enumerate(probabilities):
        contact = mql(workspace, f"p{index}@x.example")
        Contact.objects.filter(pk=contact.pk).update(conversion_probability=value)
    for sort in ("-conversion_probability", "conversion_probability"):
        seen, cursor = [], None
        while True:
            query = f"/contacts?sort={sort}&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = api.get(query).json()
            seen += [item["conversion_probability"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        known = sorted(v for v in probabilities if v is not None)
        expected = [*reversed(known), None, None] if sort.startswith("-") else [None, None, *known]
        assert seen == expected, sort


def test_the_export_has_the_score_columns(api, workspace):
    contact = mql(workspace, "a@x.example")
    Contact.objects.filter(pk=contact.pk).update(engagement_score=12.0, fit_grade="A")
    text = b"".join(api.get("/contacts/export.csv").streaming_content).decode()
    header, row = text.splitlines()[:2]
    columns = header.split(",")
    values = dict(zip(columns, row.split(","), strict=False))
    assert {"engagement_score", "fit_grade", "conversion_probability", "funnel_section"} <= set(
        columns
    )
    assert (values["engagement_score"], values["fit_grade"]) == ("12", "A")
