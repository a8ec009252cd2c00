"""The merge page preselects what the merge keeps by default (never a downgrade) and shows
every value as people read it."""

import datetime as dt
import re

from django.utils import timezone

from leadflow.contacts.models import Contact
from tests.web.conftest import url


def checked(html: str, name: str) -> str:
    """The side ("primary" / "secondary") preselected for one field."""
    inputs = re.findall(rf'<input type="radio" name="keep__{re.escape(name)}"[^>]*>', html)
    sides = [re.search(r'value="(\w+)"', tag).group(1) for tag in inputs if "checked" in tag]
    assert len(sides) == 1, inputs
    return sides[0]


def test_the_merge_page_preselects_the_furthest_stage_strongest_consent_hottest_temperature(
    owner_client, workspace, make_contact
):
    qualified = make_contact(first_name="Ann", last_name="Lee", email="ann@lee-corp.com")
    duplicate = make_contact(first_name="Ann", last_name="Lee", email="ann.lee@gmail.com")
    Contact.objects.filter(pk=qualified.pk).update(
        lifecycle_stage="mql",
        consent_status="granted",
        temperature="hot",
        last_touch_channel="paid_search",
        country="GB",
        updated_at=timezone.now() - dt.timedelta(days=30),
    )
    Contact.objects.filter(pk=duplicate.pk).update(
        lifecycle_stage="lead",
        consent_status="unknown",
        temperature="cold",
        last_touch_channel="organic_search",
        country="IE",
        updated_at=timezone.now(),
    )
    html = owner_client.get(
        url(workspace, f"contacts/{duplicate.pk}/merge/?other={qualified.pk}")
    ).content.decode()
    assert checked(html, "lifecycle_stage") == "secondary"
    assert checked(html, "consent_status") == "secondary"
    assert checked(html, "temperature") == "secondary"  # the hotter, though older
    assert checked(html, "last_touch_channel") == "primary"  # the newer value otherwise
    for label in ("Marketing-qualified lead", "Granted", "Paid search", "Organic search"):
        assert label in html
    assert "Latest channel" in html and "United Kingdom" in html
    assert "paid_search" not in html and "organic_search" not in html
    # Merging with what the page preselected keeps the qualified values.
    form = {"other": qualified.pk}
    fields = ("lifecycle_stage", "consent_status", "temperature", "last_touch_channel", "country")
    for name in (*fields, "email"):
        form[f"keep__{name}"] = checked(html, name)
    response = owner_client.post(url(workspace, f"contacts/{duplicate.pk}/merge/"), form)
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.lifecycle_stage, duplicate.consent_status) == ("mql", "granted")
    assert duplicate.temperature == "hot"


def test_two_contacts_with_one_name_are_told_apart_by_their_numbers(
    owner_client, workspace, make_contact
):
    kept = make_contact(first_name="Ann", last_name="Lee", email="ann@lee-corp.com")
    other = make_contact(first_name="Ann", last_name="Lee", email="ann.lee@gmail.com")
    html = owner_client.get(
        url(workspace, f"contacts/{kept.pk}/merge/?other={other.pk}")
    ).content.decode()
    assert "Merge Ann Lee into Ann Lee" not in html
    assert f"Merge Ann Lee #{other.pk} into Ann Lee #{kept.pk}</button>" in html
    assert f"Keep Ann Lee #{other.pk} instead</a>" in html
