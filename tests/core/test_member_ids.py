"""An owner or member id the database cannot hold (past 64 bits) is a 422 naming the field,
like any id of no member, never a 500: forms, lead sources and contacts."""

import pytest

TOO_BIG = 2**64 + 1


@pytest.mark.django_db
@pytest.mark.parametrize("value", [TOO_BIG, -TOO_BIG, 0])
def test_an_owner_id_no_database_can_hold_is_refused_by_name(api, value):
    form = api.post(
        "/forms", {"name": "Demo", "fields": [{"name": "email", "type": "email"}]}
    ).json()
    source = api.post("/lead-sources", {"name": "Portal", "format": "generic"}).json()
    contact = api.post("/contacts", {"email": "ann@initech.com"}).json()
    attempts = [
        api.post(
            "/forms",
            {
                "name": "Other",
                "fields": [{"name": "email", "type": "email"}],
                "default_owner_id": value,
            },
        ),
        api.patch(f"/forms/{form['id']}", {"default_owner_id": value}),
        api.post("/lead-sources", {"name": "x", "format": "generic", "default_owner_id": value}),
        api.patch(f"/lead-sources/{source['id']}", {"default_owner_id": value}),
        api.patch(f"/contacts/{contact['id']}", {"owner_id": value}),
        api.post("/contacts", {"email": "bo@initech.com", "owner_id": value}),
    ]
    for response in attempts:
        assert response.status_code == 422, response.content
        (error,) = response.json()["errors"]
        assert error["field"] in ("default_owner_id", "owner_id")
