"""Only members who can own and act on leads (owner, admin, marketer, sales: the roles with
"write") are offered as a form's owner of new leads and notified members, or as a lead
source's owner, and a viewer's id is refused by name (docs/permissions.md)."""

import pytest

from tests.web.conftest import url


@pytest.fixture
def sales_and_viewer(make_member):
    return make_member("sales").user, make_member("viewer").user


def test_the_form_builder_offers_no_viewer_as_owner_or_to_notify(
    owner_client, workspace, lead_form, sales_and_viewer
):
    sales, viewer = sales_and_viewer
    page = owner_client.get(url(workspace, f"forms/{lead_form.pk}/"))
    assert page.status_code == 200
    notified = {membership.user_id for membership in page.context["members"]}
    owners = {user.pk for user in page.context["member_users"]}
    assert sales.pk in notified and sales.pk in owners
    assert viewer.pk not in notified and viewer.pk not in owners
    assert viewer.email not in page.content.decode()


def test_the_lead_source_page_offers_no_viewer_as_owner(
    owner_client, workspace, api, sales_and_viewer
):
    sales, viewer = sales_and_viewer
    source = api.post("/lead-sources", {"name": "Portal", "format": "generic"}).json()
    page = owner_client.get(url(workspace, f"settings/lead-sources/{source['id']}/"))
    assert page.status_code == 200
    owners = {user.pk for user in page.context["members"]}
    assert sales.pk in owners and viewer.pk not in owners


def test_a_viewer_id_is_refused_as_owner_or_notified_member_naming_the_field(api, sales_and_viewer):
    sales, viewer = sales_and_viewer
    fields = [{"name": "email", "type": "email"}]
    form = api.post("/forms", {"name": "Demo", "fields": fields}).json()
    source = api.post("/lead-sources", {"name": "Portal", "format": "generic"}).json()
    attempts = {
        "default_owner_id": [
            api.post("/forms", {"name": "Other", "fields": fields, "default_owner_id": viewer.pk}),
            api.patch(f"/forms/{form['id']}", {"default_owner_id": viewer.pk}),
            api.post(
                "/lead-sources", {"name": "x", "format": "generic", "default_owner_id": viewer.pk}
            ),
            api.patch(f"/lead-sources/{source['id']}", {"default_owner_id": viewer.pk}),
        ],
        "notify_user_ids": [api.patch(f"/forms/{form['id']}", {"notify_user_ids": [viewer.pk]})],
    }
    for field, responses in attempts.items():
        for response in responses:
            assert response.status_code == 422, response.content
            (error,) = response.json()["errors"]
            assert error["field"] == field
            assert "can own leads" in error["message"]
    # A sales member can own leads and be told about them.
    changes = {"default_owner_id": sales.pk, "notify_user_ids": [sales.pk]}
    assert api.patch(f"/forms/{form['id']}", changes).status_code == 200
    owner = {"default_owner_id": sales.pk}
    assert api.patch(f"/lead-sources/{source['id']}", owner).status_code == 200
