"""The contacts list: search, filters, sort, keyset pages, capped count, saved views, bulk."""

import datetime as dt

import pytest
from django.utils import timezone

from leadflow.contacts import selectors
from leadflow.contacts.models import Activity, Contact, SavedView
from tests.web.conftest import url

HTMX = {"HX-Request": "true"}


def names_in(response) -> list[str]:
    return [contact.full_name for contact in response.context["page"].items]


@pytest.fixture
def crowd(make_contact, owner, company_factory=None):
    ann = make_contact(
        first_name="Ann",
        last_name="Able",
        email="ann@able.io",
        tags=["vip"],
        lifecycle_stage="mql",
        temperature="hot",
        owner_id=owner.pk,
    )
    bob = make_contact(
        first_name="Bob",
        last_name="Baker",
        email="bob@baker.io",
        lifecycle_stage="customer",
        temperature="warm",
    )
    cid = make_contact(first_name="Cid", last_name="Cole", email="cid@able.io", tags=["vip", "eu"])
    return {"ann": ann, "bob": bob, "cid": cid}


def test_lists_contacts_newest_first_with_count(owner_client, workspace, crowd):
    response = owner_client.get(url(workspace, "contacts/"))
    assert response.status_code == 200
    assert names_in(response) == ["Cid Cole", "Bob Baker", "Ann Able"]
    html = response.content.decode()
    assert "<strong>3</strong> contacts" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=baker", ["Bob Baker"]),
        ("q=ann+able", ["Ann Able"]),
        ("stage=customer", ["Bob Baker"]),
        ("temperature=hot", ["Ann Able"]),
        ("owner=none", ["Cid Cole", "Bob Baker"]),
        ("tag=eu", ["Cid Cole"]),
        ("tag=vip&sort=last_name", ["Ann Able", "Cid Cole"]),
        ("sort=-last_name", ["Cid Cole", "Bob Baker", "Ann Able"]),
        ("sort=created_at", ["Ann Able", "Bob Baker", "Cid Cole"]),
        ("sort=nonsense", ["Cid Cole", "Bob Baker", "Ann Able"]),
    ],
)
def test_filters_and_sorts(owner_client, workspace, crowd, query, expected):
    response = owner_client.get(url(workspace, f"contacts/?{query}"))
    assert response.status_code == 200
    assert names_in(response) == expected


def test_owner_and_company_filters(owner_client, workspace, crowd, owner):
    response = owner_client.get(url(workspace, f"contacts/?owner={owner.pk}"))
    assert names_in(response) == ["Ann Able"]
    company = crowd["ann"].company
    response = owner_client.get(url(workspace, f"contacts/?company={company.pk}&sort=last_name"))
    assert names_in(response) == ["Ann Able", "Cid Cole"]


def test_created_range_includes_both_days(owner_client, workspace, crowd):
    today = timezone.localdate()
    Contact.objects.filter(pk=crowd["bob"].pk).update(
        created_at=timezone.now() - dt.timedelta(days=10)
    )
    response = owner_client.get(
        url(workspace, f"contacts/?created_from={today.isoformat()}&created_to={today.isoformat()}")
    )
    assert names_in(response) == ["Cid Cole", "Ann Able"]
    earlier = (today - dt.timedelta(days=5)).isoformat()
    response = owner_client.get(url(workspace, f"contacts/?created_to={earlier}"))
    assert names_in(response) == ["Bob Baker"]


def test_bad_filter_values_show_errors_not_500(owner_client, workspace, crowd):
    response = owner_client.get(url(workspace, "contacts/?created_from=yesterday&owner=abc"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "created_from: Use a date as YYYY-MM-DD." in html


def test_htmx_filtering_returns_only_the_results(owner_client, workspace, crowd):
    response = owner_client.get(
        url(workspace, "contacts/?q=cole"), headers={**HTMX, "HX-Target": "contact-results"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="contact-results"')
    assert "<html" not in html
    assert "Cid Cole" in html
    assert "Ann Able" not in html


def test_keyset_pages_and_load_more(owner_client, workspace, make_contact, monkeypatch):
    monkeypatch.setattr("leadflow.web.views.contacts.PAGE_SIZE", 2)
    for index in range(5):
        make_contact(first_name=f"P{index}", last_name="Page", email=f"p{index}@example.org")
    first = owner_client.get(url(workspace, "contacts/?sort=created_at"))
    assert names_in(first) == ["P0 Page", "P1 Page"]
    next_query = first.context["next_query"]
    assert "cursor=" in next_query and "sort=created_at" in next_query
    second = owner_client.get(url(workspace, f"contacts/?{next_query}"))
    assert names_in(second) == ["P2 Page", "P3 Page"]
    assert "Back to the first page" in second.content.decode()
    more = owner_client.get(
        url(workspace, f"contacts/?{next_query}"), headers={**HTMX, "HX-Target": "load-more"}
    )
    html = more.content.decode()
    assert "<table" not in html
    assert html.count("<tr") == 3  # two rows and the next "Load more" row
    assert 'id="load-more"' in html
    last = owner_client.get(url(workspace, f"contacts/?{second.context['next_query']}"))
    assert names_in(last) == ["P4 Page"]
    assert last.context["next_query"] == ""


def test_bad_cursor_is_an_error_message(owner_client, workspace, crowd):
    response = owner_client.get(url(workspace, "contacts/?cursor=garbage!"))
    assert response.status_code == 200
    assert "cursor: This cursor is not valid." in response.content.decode()


def test_count_is_capped(owner_client, workspace, crowd, monkeypatch):
    real = selectors.count_capped
    monkeypatch.setattr(
        "leadflow.contacts.selectors.count_capped", lambda queryset, cap=2: real(queryset, cap=2)
    )
    html = owner_client.get(url(workspace, "contacts/")).content.decode()
    assert "<strong>2+</strong> contacts" in html


def test_count_never_counts_the_whole_table(
    owner_client, workspace, crowd, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        owner_client.get(url(workspace, "contacts/"))
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the list shows a count"
    for sql in counts:
        assert "LIMIT" in sql.upper(), sql


def test_query_count_does_not_grow_with_rows(
    owner_client, workspace, make_contact, owner, django_assert_max_num_queries
):
    for index in range(30):
        make_contact(
            first_name=f"N{index}",
            last_name="Plus",
            email=f"n{index}@firm{index}.com",
            tags=[f"t{index}", "all"],
            owner_id=owner.pk,
        )
    # session, user, membership, page, tags, count, members, tag names, companies,
    # saved views, the switcher's workspaces, the custom fields (the advanced filter's
    # field list), the people and teams of the bulk reassign, the static lists of its "Add
    # to list" and the active sequences of its "Enrol": a fixed number whatever the page size.
    with django_assert_max_num_queries(16):
        response = owner_client.get(url(workspace, "contacts/"))
    assert len(response.context["page"].items) == 30
    # Free-text search may look matching companies up first: one more query at most.
    with django_assert_max_num_queries(17):
        owner_client.get(url(workspace, "contacts/?tag=all&sort=last_name&q=plus"))


def test_contact_names_are_escaped(owner_client, workspace, make_contact):
    make_contact(
        first_name="<script>alert(1)</script>",
        last_name='"><img src=x>',
        email="xss@example.org",
        tags=["<b>bold</b>"],
        job_title="<i>boss</i>",
    )
    html = owner_client.get(url(workspace, "contacts/")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x>" not in html
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    contact = Contact.objects.get(email="xss@example.org")
    detail = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    assert "<script>alert(1)</script>" not in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "<i>boss</i>" not in detail


class TestSavedViews:
    def test_save_list_and_delete(self, owner_client, workspace, crowd, owner):
        response = owner_client.post(
            url(workspace, "contacts/views/"),
            {"name": "Hot MQLs", "query": "stage=mql&temperature=hot&cursor=abc&evil=1"},
        )
        assert response.status_code == 302
        view = SavedView.objects.get(workspace=workspace, user=owner)
        assert view.name == "Hot MQLs"
        assert view.query == "stage=mql&temperature=hot"
        html = owner_client.get(url(workspace, "contacts/")).content.decode()
        assert f'href="/w/{workspace.slug}/contacts/?stage=mql&amp;temperature=hot"' in html
        assert names_in(owner_client.get(url(workspace, f"contacts/?{view.query}"))) == ["Ann Able"]
        owner_client.post(url(workspace, f"contacts/views/{view.pk}/delete/"))
        assert not SavedView.objects.filter(pk=view.pk).exists()

    def test_views_are_personal(self, owner_client, client_for, workspace, owner_actor):
        from leadflow.contacts.services import saved_view_save

        view = saved_view_save(workspace=workspace, actor=owner_actor, name="Mine", query="q=a")
        other, _ = client_for("marketer")
        assert "Mine" not in other.get(url(workspace, "contacts/")).content.decode()
        response = other.post(url(workspace, f"contacts/views/{view.pk}/delete/"))
        assert response.status_code == 404
        assert SavedView.objects.filter(pk=view.pk).exists()

    def test_a_name_is_needed(self, owner_client, workspace):
        response = owner_client.post(
            url(workspace, "contacts/views/"), {"name": " ", "query": ""}, follow=True
        )
        assert "Give the view a name" in response.content.decode()
        assert not SavedView.objects.exists()


class TestBulkActions:
    def post(self, client, workspace, **data):
        data.setdefault("next", url(workspace, "contacts/?tag=vip"))
        return client.post(url(workspace, "contacts/bulk/"), data)

    def test_tag_and_untag(self, owner_client, workspace, crowd):
        ids = [crowd["ann"].pk, crowd["bob"].pk]
        response = self.post(owner_client, workspace, ids=ids, action="tag", tag="webinar")
        assert response.status_code == 302
        assert response["Location"] == url(workspace, "contacts/?tag=vip")
        assert set(
            Contact.objects.filter(tags__name="webinar").values_list("pk", flat=True)
        ) == set(ids)
        assert Activity.objects.filter(kind="tag.added", data__tag="webinar").count() == 2
        self.post(owner_client, workspace, ids=[crowd["ann"].pk], action="untag", tag="webinar")
        assert list(Contact.objects.filter(tags__name="webinar").values_list("pk", flat=True)) == [
            crowd["bob"].pk
        ]

    def test_assign_owner_and_stage(self, owner_client, workspace, crowd, owner):
        ids = [crowd["bob"].pk, crowd["cid"].pk]
        self.post(owner_client, workspace, ids=ids, action="assign_owner", owner=str(owner.pk))
        assert Contact.objects.filter(pk__in=ids, owner=owner).count() == 2
        self.post(owner_client, workspace, ids=ids, action="set_stage", stage="sql")
        assert Contact.objects.filter(pk__in=ids, lifecycle_stage="sql").count() == 2
        self.post(owner_client, workspace, ids=ids, action="assign_owner", owner="")
        assert Contact.objects.filter(pk__in=ids, owner__isnull=True).count() == 2
        # Each activity has its kind's one shape (contacts.kind_writers): a bulk owner change
        # says from whom, as an edit on the contact page does.
        owners = Activity.objects.filter(contact_id=ids[0], kind="owner.changed").order_by("pk")
        assert [a.data for a in owners] == [
            {"from": None, "to": owner.pk, "bulk": True},
            {"from": owner.pk, "to": None, "bulk": True},
        ]
        (stage,) = Activity.objects.filter(contact_id=ids[0], kind="stage.changed")
        assert stage.data == {
            "from": "customer",
            "to": "sql",
            "direction": "backward",
            "bulk": True,
        }

    def test_delete_asks_first(self, owner_client, workspace, crowd):
        ids = [crowd["ann"].pk, crowd["bob"].pk]
        page = self.post(owner_client, workspace, ids=ids, action="delete")
        assert page.status_code == 200
        html = page.content.decode()
        assert "Delete 2 contacts?" in html
        assert 'name="confirm" value="yes"' in html
        assert Contact.objects.filter(pk__in=ids).count() == 2
        done = self.post(owner_client, workspace, ids=ids, action="delete", confirm="yes")
        assert done.status_code == 302
        assert not Contact.objects.filter(pk__in=ids).exists()
        assert Contact.objects.filter(pk=crowd["cid"].pk).exists()

    def test_nothing_selected_or_bad_value(self, owner_client, workspace, crowd):
        response = owner_client.post(
            url(workspace, "contacts/bulk/"), {"action": "tag"}, follow=True
        )
        assert "Select at least one contact" in response.content.decode()
        response = owner_client.post(
            url(workspace, "contacts/bulk/"),
            {"ids": [crowd["ann"].pk], "action": "set_stage", "stage": "bogus"},
            follow=True,
        )
        assert "Choose a lifecycle stage." in response.content.decode()
        # A hand-made owner that is no id was a 500 (int() in the service).
        for owner in ("abc", "1e3", "١٢"):
            response = owner_client.post(
                url(workspace, "contacts/bulk/"),
                {"ids": [crowd["ann"].pk], "action": "assign_owner", "owner": owner},
                follow=True,
            )
            assert response.status_code == 200
            assert "Choose a member." in response.content.decode() or (
                "Not a member of this workspace." in response.content.decode()
            )

    def test_other_workspace_ids_are_ignored(self, owner_client, workspace, other_contact):
        self.post(owner_client, workspace, ids=[other_contact.pk], action="delete", confirm="yes")
        assert Contact.objects.filter(pk=other_contact.pk).exists()

    def test_unsafe_next_is_ignored(self, owner_client, workspace, crowd):
        response = self.post(
            owner_client,
            workspace,
            ids=[crowd["ann"].pk],
            action="tag",
            tag="x",
            next="https://evil.example/",
        )
        assert response["Location"] == url(workspace, "contacts/")


def test_filters_by_fit_grade_funnel_section_and_score(owner_client, workspace, crowd):
    scores = {"ann": (80.0, "A", "bottom"), "bob": (30.0, "C", "top"), "cid": (55.0, "B", "top")}
    for key, (score, grade, funnel) in scores.items():
        Contact.objects.filter(pk=crowd[key].pk).update(
            engagement_score=score, fit_grade=grade, funnel_section=funnel
        )
    listed = lambda **query: sorted(  # noqa: E731
        names_in(owner_client.get(url(workspace, "contacts/"), query))
    )
    assert listed(grade="B") == ["Ann Able", "Cid Cole"]  # B or better
    assert listed(grade="A") == ["Ann Able"]
    assert listed(funnel="top") == ["Bob Baker", "Cid Cole"]
    assert listed(score_min="50") == ["Ann Able", "Cid Cole"]
    assert listed(score_min="50", funnel="top", grade="C") == ["Cid Cole"]
    assert listed(grade="Z") == []  # a grade nobody can have matches nobody
    bad = owner_client.get(url(workspace, "contacts/"), {"score_min": "lots"})
    assert bad.status_code == 200
    assert "score_min: A number of points." in bad.content.decode()
