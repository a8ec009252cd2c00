"""Segments in the app: the list with member counts (a pinned number of queries), the
editor saving a dynamic segment and counting its tree live (htmx), a bad condition shown on
its row, static lists' members added by email and removed, members linking to contacts,
roles (viewers and sales read; marketers manage) and another workspace's segment 404."""

import pytest
from django_tasks_db.models import DBTaskResult

from leadflow.contacts.models import Contact
from leadflow.core.actors import Actor
from leadflow.nurture.models import Segment, SegmentMember
from leadflow.nurture.services.segments import segment_create
from leadflow.nurture.tasks import segment_refresh_task

US = {"field": "country", "operator": "eq", "value": "US"}


@pytest.fixture
def marketer(client_for):
    return client_for("marketer")


def run_queued_refreshes() -> int:
    queued = DBTaskResult.objects.filter(task_path=segment_refresh_task.module_path, status="READY")
    runs = 0
    for row in queued:
        segment_refresh_task.call(*row.args_kwargs["args"])
        runs += 1
    return runs


def url(workspace, path=""):
    return f"/w/{workspace.slug}/segments/{path}"


def people(workspace, n, country="US"):
    return Contact.objects.bulk_create(
        [
            Contact(workspace=workspace, email=f"{country.lower()}{i}@example.com", country=country)
            for i in range(n)
        ]
    )


def test_a_marketer_builds_a_segment_and_sees_its_members(workspace, marketer):
    people(workspace, 3)
    people(workspace, 2, country="GB")
    page = marketer.get(url(workspace, "new/"))
    assert page.status_code == 200 and b"Contacts in this segment match" in page.content
    saved = marketer.post(
        url(workspace, "new/"),
        {
            "name": "Americans",
            "kind": "dynamic",
            "conditions-match": "all",
            "conditions-field": ["country", ""],
            "conditions-operator": ["eq", "eq"],
            "conditions-value": ["US", ""],
        },
    )
    segment = Segment.objects.get(workspace=workspace, name="Americans")
    assert saved.status_code == 302 and saved["Location"].endswith(f"/segments/{segment.pk}/")
    assert segment.conditions["children"] == [US]
    members = marketer.get(saved["Location"])
    assert members.status_code == 200
    # The refresh was queued; run as the worker would, it fills the members.
    assert run_queued_refreshes() == 1
    assert SegmentMember.objects.filter(segment=segment).count() == 3
    members = marketer.get(saved["Location"])
    contact = Contact.objects.filter(country="US").first()
    assert f"/contacts/{contact.pk}/".encode() in members.content
    listed = marketer.get(url(workspace))
    assert b"Americans" in listed.content and b">3<" in listed.content


def test_the_count_is_live_while_editing(workspace, marketer):
    people(workspace, 4)
    response = marketer.post(
        url(workspace, "count/"),
        {
            "conditions-match": "all",
            "conditions-field": ["country"],
            "conditions-operator": ["eq"],
            "conditions-value": ["US"],
        },
        headers={"HX-Request": "true", "HX-Target": "segment-count"},
    )
    assert response.status_code == 200
    assert b"<strong data-count>4</strong>" in response.content
    bad = marketer.post(
        url(workspace, "count/"),
        {
            "conditions-field": ["engagement_score"],
            "conditions-operator": ["gte"],
            "conditions-value": ["lots"],
        },
    )
    assert b"Not counted" in bad.content and b"Must be a number" in bad.content


def test_a_bad_condition_is_shown_on_its_row(workspace, marketer):
    response = marketer.post(
        url(workspace, "new/"),
        {
            "name": "Bad",
            "kind": "dynamic",
            "conditions-field": ["engagement_score"],
            "conditions-operator": ["gte"],
            "conditions-value": ["lots"],
        },
    )
    assert response.status_code == 422
    assert b"Must be a number" in response.content
    assert not Segment.objects.filter(name="Bad").exists()


def test_a_static_list_takes_emails_and_gives_them_back(workspace, marketer, owner_actor):
    ann, bob = people(workspace, 2)
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "VIP", "kind": "static"}
    )
    added = marketer.post(
        url(workspace, f"{segment.pk}/add/"), {"contacts": f"{ann.email}, nobody@example.com"}
    )
    assert added.status_code == 302
    assert set(
        SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True)
    ) == {ann.pk}
    marketer.post(url(workspace, f"{segment.pk}/add/"), {"contacts": str(bob.pk)})
    marketer.post(url(workspace, f"{segment.pk}/remove/"), {"contact": [str(ann.pk)]})
    assert set(
        SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True)
    ) == {bob.pk}


@pytest.mark.parametrize("role", ["viewer", "sales"])
def test_readers_read_but_do_not_manage(workspace, client_for, owner_actor, role):
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "VIP", "kind": "static"}
    )
    client = client_for(role)
    assert client.get(url(workspace)).status_code == 200
    assert client.get(url(workspace, f"{segment.pk}/")).status_code == 200
    assert client.get(url(workspace, "new/")).status_code == 403
    assert client.post(url(workspace, f"{segment.pk}/delete/")).status_code == 403
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_another_workspaces_segment_is_not_found(workspace, other_workspace, marketer):
    theirs = segment_create(
        workspace=other_workspace,
        actor=Actor.system(),
        values={"name": "Theirs", "kind": "static"},
    )
    for path in (f"{theirs.pk}/", f"{theirs.pk}/edit/"):
        assert marketer.get(url(workspace, path)).status_code == 404
    assert marketer.post(url(workspace, f"{theirs.pk}/delete/")).status_code == 404


def test_the_list_page_costs_the_same_queries_for_many_segments(
    workspace, marketer, owner_actor, django_assert_max_num_queries
):
    for n in range(12):
        segment_create(
            workspace=workspace, actor=owner_actor, values={"name": f"L{n}", "kind": "static"}
        )
    with django_assert_max_num_queries(12):
        assert marketer.get(url(workspace)).status_code == 200


def test_checked_contacts_go_into_a_list_from_the_contacts_page(
    workspace, other_workspace, marketer, owner_actor
):
    ann, bob, _ = people(workspace, 3)
    stranger = people(other_workspace, 1)[0]
    segment = segment_create(
        workspace=workspace, actor=owner_actor, values={"name": "VIP", "kind": "static"}
    )
    page = marketer.get(f"/w/{workspace.slug}/contacts/")
    assert b"Add to list" in page.content and b">VIP</option>" in page.content
    response = marketer.post(
        f"/w/{workspace.slug}/segments/add-selected/",
        {
            "segment": str(segment.pk),
            "ids": [str(ann.pk), str(bob.pk), str(stranger.pk)],
            "next": f"/w/{workspace.slug}/contacts/?country=US",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/w/{workspace.slug}/contacts/?country=US"
    members = set(
        SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True)
    )
    assert members == {ann.pk, bob.pk}


def test_sales_members_see_no_add_to_list(workspace, client_for, owner_actor):
    people(workspace, 1)
    segment_create(workspace=workspace, actor=owner_actor, values={"name": "VIP", "kind": "static"})
    page = client_for("sales").get(f"/w/{workspace.slug}/contacts/")
    assert page.status_code == 200 and b"Add to list" not in page.content
