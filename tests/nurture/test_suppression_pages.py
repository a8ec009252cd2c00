"""Settings → Suppression list and Subscription topics in the app, and the contact page's
"suppressed" line: search by address (a hashed look-up), add by hand, remove (audited),
CSV import, counts by reason, topics; marketing's roles only; the list's queries do not
grow with its rows."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leadflow.contacts.services import contact_upsert
from leadflow.contacts.suppression import email_suppressed
from leadflow.core.models import AuditEntry
from leadflow.nurture.models import Suppression, Topic
from leadflow.nurture.services import suppression_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(workspace, make_member):
    client = Client()
    client.force_login(make_member("marketer").user)
    return client


def _url(workspace, path=""):
    return f"/w/{workspace.slug}/settings/{path}"


def test_search_add_and_remove_an_address(workspace, marketer):
    page = marketer.get(_url(workspace, "suppression/?address=ann@example.org"))
    assert page.status_code == 200
    assert 'data-found="no"' in page.content.decode()

    added = marketer.post(
        _url(workspace, "suppression/"),
        {"address": "Ann@Example.org", "reason": "complaint", "note": "Called to complain"},
    )
    assert added.status_code == 302
    assert email_suppressed(workspace.pk, "ann@example.org") == "complaint"
    row = Suppression.objects.get()
    assert row.source == "app" and row.created_by == "marketer@acme-widgets.com"

    page = marketer.get(_url(workspace, "suppression/?address=ANN@example.org")).content.decode()
    assert 'data-found="yes"' in page and '<span class="badge warn">complaint</span>' in page
    assert f"suppression/{row.pk}/remove/" in page

    removed = marketer.post(_url(workspace, f"suppression/{row.pk}/remove/"))
    assert removed.status_code == 302
    assert email_suppressed(workspace.pk, "ann@example.org") is None
    entry = AuditEntry.objects.get(action="suppression.removed")
    assert entry.changes["address_hash"] == row.address_hash


def test_a_bad_address_is_named_beside_its_field(workspace, marketer):
    response = marketer.post(_url(workspace, "suppression/"), {"address": "not an address"})
    assert response.status_code == 422
    assert '<p class="error" id="id_address_error">' in response.content.decode()
    assert not Suppression.objects.exists()


def test_a_csv_import_and_the_counts_by_reason(workspace, marketer, owner_actor):
    suppression_add(
        workspace=workspace, address="x@example.org", reason="hard_bounce", actor=owner_actor
    )
    upload = SimpleUploadedFile(
        "bounces.csv", b"\xef\xbb\xbfemail\na@example.org\nb@example.org\nnope\n", "text/csv"
    )
    response = marketer.post(_url(workspace, "suppression/import/"), {"file": upload}, follow=True)
    page = response.content.decode()
    assert "2 addresses suppressed, 0 already on the list" in page
    assert "row 4" in page
    assert 'data-count="all">3<' in page
    assert 'data-count="imported">2<' in page and 'data-count="hard_bounce">1<' in page
    assert Suppression.objects.filter(source="CSV bounces.csv").count() == 2
    filtered = marketer.get(_url(workspace, "suppression/?reason=hard_bounce")).content.decode()
    assert filtered.count("data-suppression=") == 1


def test_the_list_pages_in_a_fixed_number_of_queries(
    workspace, marketer, owner_actor, django_assert_max_num_queries
):
    def add(count, start):
        for number in range(start, start + count):
            contact = contact_upsert(
                workspace=workspace, data={"email": f"p{number}@example.org"}, actor=owner_actor
            ).contact
            suppression_add(
                workspace=workspace, address=contact.email, reason="manual", actor=owner_actor
            )

    add(2, 0)
    with django_assert_max_num_queries(12) as few:
        marketer.get(_url(workspace, "suppression/"))
    add(20, 2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = marketer.get(_url(workspace, "suppression/")).content.decode()
    assert page.count("data-suppression=") == 22


def test_the_contact_page_says_the_address_is_suppressed(workspace, owner_actor, marketer):
    contact = contact_upsert(
        workspace=workspace, data={"email": "kim@initech.com"}, actor=owner_actor
    ).contact
    page = marketer.get(f"/w/{workspace.slug}/contacts/{contact.pk}/").content.decode()
    assert "data-suppressed" not in page
    suppression_add(
        workspace=workspace, address="kim@initech.com", reason="hard_bounce", actor=owner_actor
    )
    page = marketer.get(f"/w/{workspace.slug}/contacts/{contact.pk}/").content.decode()
    assert 'data-suppressed="hard_bounce"' in page and "Hard bounce, since" in page


def test_topics_are_added_edited_and_deleted(workspace, marketer):
    assert marketer.post(_url(workspace, "topics/"), {"name": "Events"}).status_code == 302
    topic = Topic.objects.get()
    duplicate = marketer.post(_url(workspace, "topics/"), {"name": "events"})
    assert duplicate.status_code == 302 and Topic.objects.count() == 1
    edited = marketer.post(
        _url(workspace, f"topics/{topic.pk}/"), {"name": "Events", "description": "Meetups"}
    )
    assert edited.status_code == 302
    topic.refresh_from_db()
    assert topic.description == "Meetups"
    assert "Meetups" in marketer.get(_url(workspace, "topics/")).content.decode()
    assert marketer.post(_url(workspace, f"topics/{topic.pk}/delete/")).status_code == 302
    assert not Topic.objects.exists()


def test_another_workspaces_rows_are_not_found(workspace, other_workspace, owner_actor, marketer):
    row = suppression_add(
        workspace=other_workspace, address="a@example.org", reason="manual", actor=owner_actor
    ).suppression
    assert marketer.post(_url(workspace, f"suppression/{row.pk}/remove/")).status_code == 404
    assert Suppression.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("role", ["sales", "viewer"])
def test_sales_and_viewers_are_refused(workspace, make_member, role):
    client = Client()
    client.force_login(make_member(role).user)
    assert client.get(_url(workspace, "suppression/")).status_code == 403
    assert client.post(_url(workspace, "suppression/"), {"address": "a@b.com"}).status_code == 403
    assert client.get(_url(workspace, "topics/")).status_code == 403
    assert not Suppression.objects.exists()
