"""Identifying custom fields (issue 12): a workspace marks fields such as an id number or a
customer number as identifying, with how their values are compared; the duplicate finder
reads them through ``selectors.identifying_fields``."""

import pytest
from django.db import IntegrityError, transaction

from leadflow.contacts import selectors, services
from leadflow.contacts.models import CustomField
from leadflow.core.errors import NotFound, ValidationFailed


def _problems(call) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failure:
        call()
    return {error.field: error.message for error in failure.value.errors}


def _create(workspace, actor, **data):
    return services.custom_field_create(workspace=workspace, data=data, actor=actor)


def test_a_text_or_number_field_can_identify_a_person_with_a_comparison(workspace, owner_actor):
    customer = _create(
        workspace,
        owner_actor,
        label="Customer number",
        field_type="text",
        identifying=True,
        match_type="digits",
    )
    national = _create(
        workspace,
        owner_actor,
        label="National id",
        field_type="number",
        identifying=True,
        match_type="exact",
    )
    plain = _create(workspace, owner_actor, label="Notes", field_type="text")
    assert (customer.identifying, customer.match_type) == (True, "digits")
    assert (national.identifying, national.match_type) == (True, "exact")
    assert (plain.identifying, plain.match_type) == (False, "")


def test_an_identifying_field_needs_a_comparison(workspace, owner_actor):
    found = _problems(
        lambda: _create(
            workspace, owner_actor, label="Customer number", field_type="text", identifying=True
        )
    )
    assert found == {"match_type": "Choose how values are compared to find duplicates."}
    assert not CustomField.objects.exists()


@pytest.mark.parametrize("field_type", ["date", "boolean", "choice", "multi_choice"])
def test_only_text_and_number_fields_may_identify(workspace, owner_actor, field_type):
    data = {"choices": ["a", "b"]} if "choice" in field_type else {}
    found = _problems(
        lambda: _create(
            workspace,
            owner_actor,
            label="Thing",
            field_type=field_type,
            identifying=True,
            match_type="exact",
            **data,
        )
    )
    assert set(found) == {"identifying"}
    assert "text and number" in found["identifying"]


def test_an_unknown_comparison_or_a_non_boolean_flag_is_named(workspace, owner_actor):
    found = _problems(
        lambda: _create(
            workspace,
            owner_actor,
            label="Customer number",
            field_type="text",
            identifying="yes",
            match_type="soundex",
        )
    )
    assert set(found) == {"identifying", "match_type"}


def test_a_comparison_without_identifying_is_dropped(workspace, owner_actor):
    field = _create(workspace, owner_actor, label="Ref", field_type="text", match_type="exact")
    assert (field.identifying, field.match_type) == (False, "")


def test_update_turns_identifying_on_and_off_and_keeps_the_comparison_consistent(
    workspace, owner_actor
):
    field = _create(workspace, owner_actor, label="Customer number", field_type="text")
    update = services.custom_field_update
    found = _problems(
        lambda: update(
            workspace=workspace, field_id=field.pk, data={"identifying": True}, actor=owner_actor
        )
    )
    assert set(found) == {"match_type"}
    field = update(
        workspace=workspace,
        field_id=field.pk,
        data={"identifying": True, "match_type": "fuzzy"},
        actor=owner_actor,
    )
    assert (field.identifying, field.match_type) == (True, "fuzzy")
    # The comparison alone may change on an identifying field.
    field = update(
        workspace=workspace, field_id=field.pk, data={"match_type": "digits"}, actor=owner_actor
    )
    assert field.match_type == "digits"
    # Unticking is enough: the comparison goes with it.
    field = update(
        workspace=workspace, field_id=field.pk, data={"identifying": False}, actor=owner_actor
    )
    field.refresh_from_db()
    assert (field.identifying, field.match_type) == (False, "")
    date_field = _create(workspace, owner_actor, label="Renewal", field_type="date")
    found = _problems(
        lambda: update(
            workspace=workspace,
            field_id=date_field.pk,
            data={"identifying": True, "match_type": "exact"},
            actor=owner_actor,
        )
    )
    assert set(found) == {"identifying"}


def test_the_database_refuses_an_inconsistent_definition(workspace):
    bad = [
        {"field_type": "text", "identifying": True, "match_type": ""},
        {"field_type": "text", "identifying": False, "match_type": "exact"},
        {"field_type": "date", "identifying": True, "match_type": "exact"},
        {"field_type": "text", "identifying": True, "match_type": "nope"},
    ]
    for index, data in enumerate(bad):
        with pytest.raises(IntegrityError), transaction.atomic():
            CustomField.objects.create(workspace=workspace, key=f"k{index}", label="K", **data)


def test_identifying_fields_lists_key_and_comparison_of_this_workspace_only(
    workspace, other_workspace, owner_actor
):
    _create(
        workspace,
        owner_actor,
        label="Customer number",
        field_type="text",
        identifying=True,
        match_type="digits",
        position=2,
    )
    _create(
        workspace,
        owner_actor,
        label="Passport",
        field_type="text",
        identifying=True,
        match_type="exact",
        position=1,
    )
    _create(workspace, owner_actor, label="Notes", field_type="text")
    CustomField.objects.create(
        workspace=other_workspace,
        key="member_id",
        label="Member id",
        field_type="text",
        identifying=True,
        match_type="fuzzy",
    )
    fields = selectors.identifying_fields(workspace)
    assert fields == {"passport": "exact", "customer_number": "digits"}
    assert list(fields) == ["passport", "customer_number"]  # in the list's order
    assert selectors.identifying_fields(other_workspace) == {"member_id": "fuzzy"}


def test_identifying_fields_is_one_query(workspace, owner_actor, django_assert_num_queries):
    for label in ("A", "B", "C"):
        _create(
            workspace,
            owner_actor,
            label=label,
            field_type="text",
            identifying=True,
            match_type="exact",
        )
    with django_assert_num_queries(1):
        assert len(selectors.identifying_fields(workspace)) == 3


def test_another_workspace_field_cannot_be_marked(workspace, other_workspace, owner_actor):
    theirs = CustomField.objects.create(
        workspace=other_workspace, key="ref", label="Ref", field_type="text"
    )
    with pytest.raises(NotFound):
        services.custom_field_update(
            workspace=workspace,
            field_id=theirs.pk,
            data={"identifying": True, "match_type": "exact"},
            actor=owner_actor,
        )
    theirs.refresh_from_db()
    assert theirs.identifying is False


# --- API -------------------------------------------------------------------------------------


def test_api_round_trip_of_an_identifying_field(api):
    created = api.post(
        "/custom-fields",
        {
            "label": "Customer number",
            "field_type": "text",
            "identifying": True,
            "match_type": "digits",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["identifying"], body["match_type"]) == (True, "digits")
    field_id = body["id"]
    got = api.get(f"/custom-fields/{field_id}").json()
    assert (got["identifying"], got["match_type"]) == (True, "digits")
    listed = api.get("/custom-fields").json()
    assert [(f["key"], f["identifying"], f["match_type"]) for f in listed] == [
        ("customer_number", True, "digits")
    ]
    patched = api.patch(f"/custom-fields/{field_id}", {"match_type": "fuzzy"})
    assert patched.json()["match_type"] == "fuzzy"
    patched = api.patch(f"/custom-fields/{field_id}", {"identifying": False})
    assert (patched.json()["identifying"], patched.json()["match_type"]) == (False, "")


def test_api_names_the_bad_field(api):
    response = api.post(
        "/custom-fields",
        {"label": "Renewal", "field_type": "date", "identifying": True, "match_type": "exact"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["identifying"]
    response = api.post(
        "/custom-fields", {"label": "Ref", "field_type": "text", "identifying": True}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["match_type"]
    response = api.post(
        "/custom-fields",
        {"label": "Ref", "field_type": "text", "identifying": True, "match_type": "soundex"},
    )
    assert response.status_code == 422
    assert "match_type" in response.content.decode()


def test_api_another_workspace_field_answers_404(api, other_api):
    theirs = other_api.post(
        "/custom-fields",
        {"label": "Member id", "field_type": "text", "identifying": True, "match_type": "exact"},
    ).json()
    assert api.get(f"/custom-fields/{theirs['id']}").status_code == 404
    assert api.patch(f"/custom-fields/{theirs['id']}", {"identifying": False}).status_code == 404
    assert other_api.get(f"/custom-fields/{theirs['id']}").json()["identifying"] is True
