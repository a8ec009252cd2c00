"""The identity fields on the contact page (issue 12): the Profile shows the address on its
lines and the date of birth, leaves them out when empty; the new and edit forms take them."""

import datetime as dt
import re

from leadflow.contacts.models import Contact
from tests.web.conftest import url

HTMX = {"HX-Request": "true"}


def _address(html: str) -> list[str]:
    """The lines of the Profile's address, as a person reads them."""
    found = re.search(r'<dd class="address" data-field="address">(.*?)</dd>', html, re.S)
    assert found, "no address shown"
    return [" ".join(line.split()) for line in re.findall(r"<span>(.*?)</span>", found[1])]


def test_the_profile_shows_the_address_on_lines_and_the_date_of_birth(
    owner_client, workspace, make_contact
):
    contact = make_contact(
        first_name="Sherlock",
        street_address="221B Baker Street",
        city="London",
        region="Greater London",
        postal_code="nw1 6xe",
        date_of_birth="1987-04-12",
    )
    html = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    assert _address(html) == ["221B Baker Street", "London, Greater London NW1 6XE"]
    assert '<time datetime="1987-04-12">Apr 12, 1987</time>' in html


def test_an_empty_address_and_date_of_birth_are_left_out(owner_client, workspace, make_contact):
    contact = make_contact(first_name="Plain")
    html = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    assert 'data-field="address"' not in html
    assert "Date of birth" not in html
    city_only = make_contact(first_name="Town", city="Leeds")
    html = owner_client.get(url(workspace, f"contacts/{city_only.pk}/")).content.decode()
    assert _address(html) == ["Leeds"]


def test_the_new_contact_form_takes_the_identity_fields(owner_client, workspace):
    form = owner_client.get(url(workspace, "contacts/new/")).content.decode()
    for name in ("street_address", "city", "region", "postal_code"):
        assert f'name="{name}"' in form
    assert re.search(
        r'type="date"[^>]*name="date_of_birth"|name="date_of_birth"[^>]*type="date"', form
    )
    response = owner_client.post(
        url(workspace, "contacts/new/"),
        {
            "email": "nia@example.org",
            "street_address": "1 High Street",
            "city": "Bath",
            "region": "Somerset",
            "postal_code": "ba1 1aa",
            "date_of_birth": "1990-02-03",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get(workspace=workspace, email="nia@example.org")
    assert (contact.street_address, contact.city, contact.region) == (
        "1 High Street",
        "Bath",
        "Somerset",
    )
    assert (contact.postal_code, contact.date_of_birth) == ("BA1 1AA", dt.date(1990, 2, 3))


def test_the_edit_form_shows_saves_and_checks_them(owner_client, workspace, make_contact):
    contact = make_contact(first_name="Ann", city="York", date_of_birth="1980-01-01")
    edit = url(workspace, f"contacts/{contact.pk}/edit/")
    form = owner_client.get(edit, headers={**HTMX, "HX-Target": "profile"}).content.decode()
    assert 'name="city"' in form and 'value="York"' in form
    assert 'value="1980-01-01"' in form
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    refused = owner_client.post(
        edit,
        {"email": contact.email, "date_of_birth": future, "postal_code": "x" * 21},
        headers={**HTMX, "HX-Target": "profile"},
    )
    assert refused.status_code == 422
    html = refused.content.decode()
    assert 'id="id_date_of_birth_error"' in html and 'id="id_postal_code_error"' in html
    saved = owner_client.post(
        edit,
        {
            "email": contact.email,
            "city": "Hull",
            "street_address": "2 Dock St",
            "date_of_birth": "",
        },
        headers={**HTMX, "HX-Target": "profile"},
    )
    assert saved.status_code == 200
    assert _address(saved.content.decode()) == ["2 Dock St", "Hull"]
    contact.refresh_from_db()
    assert (contact.city, contact.date_of_birth) == ("Hull", None)
