"""The app's follow-ups, call and meeting forms, notifications and profile: htmx sections,
errors beside their fields, counts per tab, a fixed number of queries, and 404 for what a
member may not see."""

import datetime as dt
import re

import pytest

from leadflow.contacts.models import Activity
from leadflow.core.models import Notification
from leadflow.core.notifications import notifications_create
from leadflow.sales.models import FollowUp
from leadflow.sales.services import followup_create
from tests.conftest import PASSWORD
from tests.web.conftest import url

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true", "HX-Target": "activity"}


def test_a_call_logged_with_htmx_schedules_the_next_follow_up_in_the_same_submit(
    owner_client, workspace, contact, owner
):
    answer = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/log/call/"),
        {
            "outcome": "no_answer",
            "notes": "Nobody home",
            "next": "on",
            "next_kind": "call",
            "next_title": "Try again",
            "next_due_at": "2030-01-02T10:00",
        },
        headers=HTMX,
    )
    assert answer.status_code == 200
    assert answer["HX-Trigger"] == "followups-changed"
    html = answer.content.decode()
    assert 'id="activity"' in html and "Call: No answer" in html and "<html" not in html
    followup = FollowUp.objects.get()
    assert (followup.title, followup.assignee_id) == ("Try again", owner.pk)
    assert followup.due_at == dt.datetime(2030, 1, 2, 10, tzinfo=dt.UTC)
    panel = owner_client.get(url(workspace, f"contacts/{contact.pk}/followups/"))
    assert "Try again" in panel.content.decode()


def test_a_bad_log_form_answers_422_with_each_error_and_writes_nothing(
    owner_client, workspace, contact
):
    answer = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/log/meeting/"),
        {"outcome": "", "next": "on", "next_title": "", "next_due_at": ""},
        headers=HTMX,
    )
    assert answer.status_code == 422
    html = answer.content.decode()
    assert "One of held, no_show, rescheduled." in html
    assert (
        "A follow-up needs a title." in html
        and '<details class="log-form" id="log-meeting" open>' in html
    )
    assert not Activity.objects.filter(kind="meeting.logged").exists()
    assert not FollowUp.objects.exists()
    assert owner_client.post(url(workspace, f"contacts/{contact.pk}/log/chat/")).status_code == 404


def test_the_panel_adds_and_completes_and_the_follow_ups_page_counts_each_tab(
    owner_client, workspace, contact, owner, owner_actor, django_assert_max_num_queries
):
    added = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/followups/add/"),
        {"kind": "email", "title": "Send the quote", "due_at": "2030-01-02T10:00"},
        headers={"HX-Request": "true", "HX-Target": "followups"},
    )
    assert added.status_code == 200 and "Send the quote" in added.content.decode()
    bad = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/followups/add/"),
        {"kind": "email", "title": "", "due_at": "later"},
        headers={"HX-Request": "true", "HX-Target": "followups"},
    )
    assert bad.status_code == 422 and "A date and time such as" in bad.content.decode()
    now = dt.datetime.now(dt.UTC)
    for title, due in (
        ("Late", now - dt.timedelta(hours=1)),
        ("Soon", now + dt.timedelta(minutes=1)),
    ):
        followup_create(
            workspace=workspace,
            contact_id=contact.pk,
            data={"title": title, "due_at": due},
            actor=owner_actor,
        )
    with django_assert_max_num_queries(9):
        page = owner_client.get(url(workspace, "followups/?due=overdue"))
    html = page.content.decode()
    assert "Late" in html and "Send the quote" not in html
    tabs = dict(re.findall(r'data-bucket="(\w+)">\w+ <span class="count-pill[^"]*">(\d+)<', html))
    # "Soon" is today unless the test runs in the last minute of a UTC day.
    assert (tabs["overdue"], tabs["done"]) == ("1", "0")
    assert int(tabs["today"]) + int(tabs["upcoming"]) == 2 and tabs["upcoming"] in ("1", "2")
    done = FollowUp.objects.get(title="Late")
    answer = owner_client.post(url(workspace, f"followups/{done.pk}/complete/"), {"next": "/x"})
    assert answer.status_code == 302
    done.refresh_from_db()
    assert done.done_at is not None


def test_a_salesperson_never_reaches_a_follow_up_on_someone_elses_lead(
    client_for, workspace, contact, owner_actor
):
    followup = followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": "Owner's", "due_at": "2030-01-01T10:00"},
        actor=owner_actor,
    )
    seller, _ = client_for("sales")
    assert seller.post(url(workspace, f"followups/{followup.pk}/complete/")).status_code == 404
    assert seller.get(url(workspace, f"contacts/{contact.pk}/followups/")).status_code == 404
    assert (
        "Owner&#x27;s"
        not in seller.get(url(workspace, "followups/?due=upcoming&assignee=all")).content.decode()
    )
    viewer, _ = client_for("viewer")
    assert viewer.post(url(workspace, f"followups/{followup.pk}/complete/")).status_code == 403


def test_the_bell_counts_my_unread_and_opening_one_marks_it_read(
    owner_client, workspace, other_workspace, owner, contact, django_assert_max_num_queries
):
    [note] = notifications_create(
        workspace=workspace,
        user_ids=[owner.pk],
        kind="mention",
        title="You were <b>mentioned</b>",
        link=f"/w/{workspace.slug}/contacts/{contact.pk}/",
        contact_id=contact.pk,
    )
    with django_assert_max_num_queries(4):  # session, user, membership, the count
        bell = owner_client.get(url(workspace, "notifications/bell/"))
    assert 'data-unread="1"' in bell.content.decode()
    page = owner_client.get(url(workspace, "notifications/")).content.decode()
    assert "You were &lt;b&gt;mentioned&lt;/b&gt;" in page
    opened = owner_client.post(url(workspace, f"notifications/{note.pk}/open/"))
    assert (
        opened.status_code == 302
        and opened["Location"] == f"/w/{workspace.slug}/contacts/{contact.pk}/"
    )
    assert Notification.objects.get().read_at is not None
    assert (
        "data-unread"
        not in owner_client.get(url(workspace, "notifications/bell/")).content.decode()
    )
    # Another workspace's notification is not found.
    [other] = notifications_create(
        workspace=other_workspace,
        user_ids=[other_workspace.memberships.get().user_id],
        kind="mention",
        title="x",
    )
    assert owner_client.post(url(workspace, f"notifications/{other.pk}/open/")).status_code == 404
    assert owner_client.post(url(workspace, f"notifications/{other.pk}/read/")).status_code == 404


def test_the_profile_sets_a_time_zone_and_names_a_bad_one(owner_client, owner):
    saved = owner_client.post(
        "/account/profile/", {"full_name": "Olive Owner", "time_zone": "Europe/Berlin"}
    )
    assert saved.status_code == 302
    owner.refresh_from_db()
    assert (owner.full_name, owner.time_zone) == ("Olive Owner", "Europe/Berlin")
    bad = owner_client.post("/account/profile/", {"full_name": "x", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422 and "Not a known time zone" in bad.content.decode()
    owner.refresh_from_db()
    assert owner.time_zone == "Europe/Berlin"


def test_the_panel_reschedules_and_deletes_a_follow_up(
    owner_client, workspace, contact, owner_actor
):
    followup = followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": "Call back", "due_at": "2030-01-02T10:00"},
        actor=owner_actor,
    )
    htmx = {"HX-Request": "true", "HX-Target": "followups"}
    panel = owner_client.get(url(workspace, f"contacts/{contact.pk}/followups/")).content
    assert b"Reschedule" in panel and b"2030-01-02T10:00" in panel
    moved = owner_client.post(
        url(workspace, f"followups/{followup.pk}/reschedule/"),
        {"due_at": "2030-01-05T15:30"},
        headers=htmx,
    )
    assert moved.status_code == 200 and "Jan 5" in moved.content.decode()
    followup.refresh_from_db()
    assert followup.due_at == dt.datetime(2030, 1, 5, 15, 30, tzinfo=dt.UTC)  # the owner's UTC
    bad = owner_client.post(
        url(workspace, f"followups/{followup.pk}/reschedule/"), {"due_at": "soon"}, headers=htmx
    )
    assert bad.status_code == 422 and "Due: " in bad.content.decode()
    followup.refresh_from_db()
    assert followup.due_at == dt.datetime(2030, 1, 5, 15, 30, tzinfo=dt.UTC)
    gone = owner_client.post(url(workspace, f"followups/{followup.pk}/delete/"), headers=htmx)
    assert gone.status_code == 200 and not FollowUp.objects.filter(pk=followup.pk).exists()
    assert Activity.objects.filter(contact=contact, kind="followup.deleted").exists()


def test_the_edit_page_changes_every_field_in_the_assignees_time_zone(
    owner_client, owner, workspace, contact, owner_actor, client_for, other_workspace
):
    """The owner (in Berlin) edits a follow-up of a salesperson in New York: the page shows
    its times in New York's zone, and what is typed is read there; a bad field is named
    and nothing changes; another workspace's id is 404, a viewer is refused."""
    owner.time_zone = "Europe/Berlin"
    owner.save(update_fields=["time_zone"])
    _, seller = client_for("sales", "ny@acme-widgets.com")
    seller.user.time_zone = "America/New_York"
    seller.user.save(update_fields=["time_zone"])
    contact.owner_id = seller.user_id  # the seller sees only own leads
    contact.save(update_fields=["owner"])
    followup = followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": "Call back", "due_at": "2030-01-02T10:00", "assignee_id": seller.user_id},
        actor=owner_actor,
    )
    assert followup.due_at == dt.datetime(2030, 1, 2, 15, 0, tzinfo=dt.UTC)  # 10:00 in NY
    # The contact page's quick reschedule shows New York's 10:00, not Berlin's 16:00.
    panel = owner_client.get(url(workspace, f"contacts/{contact.pk}/followups/")).content.decode()
    assert 'value="2030-01-02T10:00"' in panel and "America/New_York" in panel
    assert f"followups/{followup.pk}/edit/" in panel

    page = owner_client.get(url(workspace, f"followups/{followup.pk}/edit/"))
    body = page.content.decode()
    assert page.status_code == 200
    assert 'value="2030-01-02T10:00"' in body and 'value="Call back"' in body

    bad = owner_client.post(
        url(workspace, f"followups/{followup.pk}/edit/"),
        {"kind": "nonsense", "title": "", "due_at": "soon", "notes": "x"},
    )
    assert bad.status_code == 422
    text = bad.content.decode()
    assert text.count('class="error"') >= 2  # each bad field named beside it
    followup.refresh_from_db()
    assert (followup.title, followup.notes) == ("Call back", "")

    done = owner_client.post(
        url(workspace, f"followups/{followup.pk}/edit/"),
        {
            "kind": "meeting",
            "title": "Demo with the CTO",
            "due_at": "2030-01-03T09:30",
            "assignee_id": str(seller.user_id),
            "reminder_at": "2030-01-03T09:00",
            "notes": "Bring the pricing sheet",
            "next": f"/w/{workspace.slug}/contacts/{contact.pk}/",
        },
    )
    assert done.status_code == 302 and done["Location"].endswith(f"/contacts/{contact.pk}/")
    followup.refresh_from_db()
    assert (followup.kind, followup.title, followup.notes) == (
        "meeting",
        "Demo with the CTO",
        "Bring the pricing sheet",
    )
    assert followup.due_at == dt.datetime(2030, 1, 3, 14, 30, tzinfo=dt.UTC)
    assert followup.reminder_at == dt.datetime(2030, 1, 3, 14, 0, tzinfo=dt.UTC)
    assert Activity.objects.filter(contact=contact, kind="followup.changed").exists()

    # Given back to the owner with the reminder emptied: read in Berlin, reminder at due.
    owner_client.post(
        url(workspace, f"followups/{followup.pk}/edit/"),
        {
            "kind": "meeting",
            "title": "Demo with the CTO",
            "due_at": "2030-01-03T09:30",
            "assignee_id": str(owner.pk),
            "reminder_at": "",
        },
    )
    followup.refresh_from_db()
    assert followup.assignee_id == owner.pk
    assert followup.due_at == dt.datetime(2030, 1, 3, 8, 30, tzinfo=dt.UTC)
    assert followup.reminder_at == followup.due_at

    # The other workspace's owner, in his own workspace, asks for this workspace's id.
    from django.test import Client

    stranger = Client()
    assert stranger.login(email="owner@other-co.com", password=PASSWORD)
    other_url = f"/w/{other_workspace.slug}/followups/{followup.pk}/edit/"
    assert stranger.get(other_url).status_code == 404
    assert (
        stranger.post(other_url, {"title": "Mine now", "due_at": "2030-01-01T10:00"}).status_code
        == 404
    )
    followup.refresh_from_db()
    assert followup.title == "Demo with the CTO"
    viewer, _ = client_for("viewer")
    assert viewer.get(url(workspace, f"followups/{followup.pk}/edit/")).status_code == 403


@pytest.mark.parametrize(
    "bad",
    [
        {"assignee_id": "99999999999999999999999"},
        {"assignee_id": "abc"},
        {"due_at": "\x00"},
        {"reminder_at": "2030-13-45T99:99"},
        {"title": "x" * 5000},
    ],
)
def test_the_edit_page_answers_bad_input_with_422_and_changes_nothing(
    owner_client, workspace, contact, owner_actor, bad
):
    followup = followup_create(
        workspace=workspace,
        contact_id=contact.pk,
        data={"title": "Call back", "due_at": "2030-01-02T10:00"},
        actor=owner_actor,
    )
    data = {"kind": "call", "title": "Call back", "due_at": "2030-01-02T10:00", **bad}
    answer = owner_client.post(url(workspace, f"followups/{followup.pk}/edit/"), data)
    # A NUL is refused at the door (400); the rest by the service, named (422).
    assert answer.status_code == (400 if "\x00" in "".join(bad.values()) else 422)
    followup.refresh_from_db()
    assert followup.title == "Call back" and followup.updated_at == followup.created_at
