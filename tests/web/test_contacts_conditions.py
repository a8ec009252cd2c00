"""The contacts list's advanced filter: a condition tree (docs/conditions.md) edited as rows,
carried in the URL as one ``conditions`` parameter, honoured by the next pages, the exports
and the saved views; bad conditions named by their row, never a server error."""

import csv
import io
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from leadflow.contacts import selectors
from leadflow.contacts.models import Contact, SavedView
from leadflow.contacts.services import contact_upsert, custom_field_create, note_add
from leadflow.core.actors import Actor
from leadflow.core.models import Membership
from tests.web.conftest import url

HTMX = {"HX-Request": "true", "HX-Target": "contact-results"}


def names_in(response) -> list[str]:
    return sorted(contact.first_name for contact in response.context["page"].items)


def tree(*children: dict, match: str = "all") -> dict:
    return {"version": 1, "match": match, "children": list(children)}


def listed(client, workspace, conditions: dict, **params) -> object:
    query = urlencode({**params, "conditions": json.dumps(conditions)})
    return client.get(url(workspace, f"contacts/?{query}"))


def rows(*conditions: tuple[str, str, str], match: str = "all") -> dict:
    """The editor's inputs as its form sends them, with its two blank rows."""
    filled = [*conditions, ("", "eq", ""), ("", "eq", "")]
    return {
        "conditions-match": match,
        "conditions-field": [field for field, _, _ in filled],
        "conditions-operator": [operator for _, operator, _ in filled],
        "conditions-value": [value for _, _, value in filled],
        "conditions-json": "",
    }


@pytest.fixture
def scored(workspace, owner_actor, make_contact):
    """Four contacts with scores, grades, probabilities, countries and a custom field."""
    custom_field_create(
        workspace=workspace, data={"label": "Seats", "field_type": "number"}, actor=owner_actor
    )
    people = {
        "Ann": (80, "A", 0.62, "US", 50),
        "Bob": (55, "C", 0.18, "DE", 5),
        "Cid": (70, "B", None, "US", None),
        "Dee": (5, "F", 0.05, "US", 200),
    }
    made = {}
    for name, (score, grade, probability, country, seats) in people.items():
        custom = {"seats": seats} if seats is not None else {}
        contact = make_contact(first_name=name, country=country, custom_fields=custom)
        Contact.objects.filter(pk=contact.pk).update(
            engagement_score=score, fit_grade=grade, conversion_probability=probability
        )
        made[name] = contact
    return made


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (
            tree({"field": "engagement_score", "operator": "gte", "value": 55}),
            ["Ann", "Bob", "Cid"],
        ),
        (tree({"field": "fit_grade", "operator": "at_least", "value": "B"}), ["Ann", "Cid"]),
        (tree({"field": "conversion_probability", "operator": "gte", "value": 15}), ["Ann", "Bob"]),
        (
            tree({"field": "custom.seats", "operator": "between", "value": [10, 500]}),
            ["Ann", "Dee"],
        ),
        (
            tree(
                {"field": "engagement_score", "operator": "gte", "value": 50},
                {"field": "country", "operator": "eq", "value": "US"},
            ),
            ["Ann", "Cid"],
        ),
        (
            tree(
                {"field": "fit_grade", "operator": "eq", "value": "F"},
                {"field": "country", "operator": "eq", "value": "DE"},
                match="any",
            ),
            ["Bob", "Dee"],
        ),
        ({"field": "country", "operator": "ne", "value": "US"}, ["Bob"]),  # a single condition
    ],
)
def test_the_list_url_filters_by_any_condition(
    owner_client, workspace, scored, conditions, expected
):
    response = listed(owner_client, workspace, conditions)
    assert response.status_code == 200
    assert response.context["filter_errors"] == []
    assert names_in(response) == expected


def test_conditions_are_anded_with_the_simple_filters(owner_client, workspace, scored):
    score = tree({"field": "engagement_score", "operator": "gte", "value": 50})
    assert names_in(listed(owner_client, workspace, score, q="cid")) == ["Cid"]
    assert names_in(listed(owner_client, workspace, score, grade="C")) == ["Ann", "Bob", "Cid"]


def test_activity_counts_are_conditions(owner_client, workspace, owner_actor, scored):
    for _ in range(2):
        note_add(workspace=workspace, contact_id=scored["Bob"].pk, body="Called", actor=owner_actor)
    note_add(workspace=workspace, contact_id=scored["Cid"].pk, body="Called", actor=owner_actor)
    twice = tree({"field": "activity.note.added", "operator": "at_least", "value": {"times": 2}})
    assert names_in(listed(owner_client, workspace, twice)) == ["Bob"]
    fields = [
        key for key, _, _ in listed(owner_client, workspace, {}).context["condition_editor"].fields
    ]
    for key in ("engagement_score", "fit_grade", "conversion_probability", "funnel_section",
                "temperature", "country", "custom.seats", "activity.note.added"):  # fmt: skip
        assert key in fields


def test_the_editor_rows_answer_with_the_views_one_url(owner_client, workspace, scored):
    sent = rows(("engagement_score", "gte", "50"), ("country", "eq", "US"))
    response = owner_client.get(url(workspace, "contacts/"), {**sent, "sort": "last_name"})
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert set(query) == {"sort", "conditions"}  # no blank rows in the address
    assert json.loads(query["conditions"][0]) == tree(
        {"field": "engagement_score", "operator": "gte", "value": 50},
        {"field": "country", "operator": "eq", "value": "US"},
    )
    page = owner_client.get(response["Location"])
    assert names_in(page) == ["Ann", "Cid"]
    # The editor shows the rows back (two blank ones to add more), the panel open.
    editor = page.context["condition_editor"]
    assert [(row.field, row.operator, row.value) for row in editor.rows] == [
        ("engagement_score", "gte", "50"),
        ("country", "eq", "US"),
        ("", "", ""),
        ("", "", ""),
    ]
    html = page.content.decode()
    assert '<details class="advanced-filter" open>' in html
    assert "2 conditions" in html
    # No rows at all: the plain filters' URL, as before the editor.
    blank = owner_client.get(url(workspace, "contacts/"), {**rows(), "stage": "lead"})
    assert blank["Location"] == url(workspace, "contacts/?stage=lead")


def test_htmx_gets_the_results_and_pushes_the_views_url(owner_client, workspace, scored):
    sent = rows(("fit_grade", "at_least", "B"))
    response = owner_client.get(url(workspace, "contacts/"), sent, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="contact-results"')
    assert names_in(response) == ["Ann", "Cid"]
    pushed = parse_qs(urlsplit(response["HX-Push-Url"]).query)
    assert json.loads(pushed["conditions"][0])["children"] == [
        {"field": "fit_grade", "operator": "at_least", "value": "B"}
    ]


def test_next_pages_and_sorts_keep_the_conditions(owner_client, workspace, scored, monkeypatch):
    monkeypatch.setattr("leadflow.web.views.contacts.PAGE_SIZE", 1)
    us = tree({"field": "country", "operator": "eq", "value": "US"})
    seen = []
    response = listed(owner_client, workspace, us, sort="-engagement_score")
    while True:
        seen += [contact.first_name for contact in response.context["page"].items]
        next_query = response.context["next_query"]
        if not next_query:
            break
        assert "conditions=" in next_query and "sort=-engagement_score" in next_query
        response = owner_client.get(url(workspace, f"contacts/?{next_query}"))
    assert seen == ["Ann", "Cid", "Dee"]


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_links_and_exports_honour_the_conditions(owner_client, workspace, scored):
    high = tree({"field": "engagement_score", "operator": "gte", "value": 60})
    page = listed(owner_client, workspace, high, sort="last_name")
    query = page.context["query"]
    assert f'href="/w/{workspace.slug}/contacts/export.csv?{query.replace("&", "&amp;")}"' in (
        page.content.decode()
    )
    exported = _csv(owner_client.get(url(workspace, f"contacts/export.csv?{query}")))
    assert sorted(row["first_name"] for row in exported) == ["Ann", "Cid"]
    xlsx = owner_client.get(url(workspace, f"contacts/export.xlsx?{query}"))
    assert xlsx.status_code == 200
    bad = urlencode({"conditions": json.dumps(tree({"field": "nope", "operator": "eq"}))})
    refused = owner_client.get(url(workspace, f"contacts/export.csv?{bad}"), follow=True)
    assert refused.status_code == 200
    assert "Advanced filter, condition 1 (nope): Unknown field" in refused.content.decode()


class TestSavedViews:
    def save(self, client, workspace, query: str, name: str = "US hot"):
        return client.post(url(workspace, "contacts/views/"), {"name": name, "query": query})

    def test_a_view_keeps_the_tree_and_reopens_the_rows(self, owner_client, workspace, scored):
        conditions = tree(
            {"field": "engagement_score", "operator": "gte", "value": 50},
            {"field": "country", "operator": "eq", "value": "US"},
        )
        page = listed(owner_client, workspace, conditions, stage="lead", sort="last_name")
        response = self.save(owner_client, workspace, page.context["query"])
        assert response.status_code == 302
        view = SavedView.objects.get(workspace=workspace, name="US hot")
        assert parse_qs(view.query)["sort"] == ["last_name"]
        assert json.loads(parse_qs(view.query)["conditions"][0]) == conditions
        # Its tree is all of its conditions: the filters' and the advanced filter's.
        advanced = {key: value for key, value in conditions.items() if key != "version"}
        assert view.conditions == tree(
            {"field": "lifecycle_stage", "operator": "eq", "value": "lead"}, advanced
        )
        matching = selectors.contacts_visible(workspace, page.wsgi_request.actor).filter(
            selectors.contact_condition(
                workspace, page.wsgi_request.actor, None, selectors.saved_view_conditions(view)
            )
        )
        assert sorted(matching.values_list("first_name", flat=True)) == ["Ann", "Cid"]
        # Its chip links to the view; opening it shows the rows and the same contacts.
        html = owner_client.get(url(workspace, "contacts/")).content.decode()
        link = f"/w/{workspace.slug}/contacts/?{view.query}".replace("&", "&amp;")
        assert f'href="{link}"' in html
        reopened = owner_client.get(url(workspace, f"contacts/?{view.query}"))
        assert names_in(reopened) == ["Ann", "Cid"]
        assert [row.field for row in reopened.context["condition_editor"].rows][:2] == [
            "engagement_score",
            "country",
        ]

    def test_a_bad_tree_is_not_saved_and_says_why(self, owner_client, workspace, scored):
        bad = tree({"field": "engagement_score", "operator": "gte", "value": "lots"})
        query = urlencode({"conditions": json.dumps(bad)})
        response = self.save(owner_client, workspace, query)
        assert response.status_code == 302
        shown = owner_client.get(response["Location"]).content.decode()
        assert "The view was not saved." in shown
        assert "Advanced filter, condition 1 (Engagement score): Must be a number." in shown
        assert not SavedView.objects.exists()

    def test_a_tree_too_long_to_keep_is_refused_not_cut(self, owner_client, workspace, scored):
        many = tree(
            *({"field": "city", "operator": "ne", "value": f"Town {n:03}"} for n in range(30))
        )
        query = urlencode({"conditions": json.dumps(many)})
        assert len(query) > 2000
        response = self.save(owner_client, workspace, query)
        shown = owner_client.get(response["Location"]).content.decode()
        assert "Too long to keep" in shown
        assert not SavedView.objects.exists()


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (
            tree({"field": "engagement_score", "operator": "gte", "value": "lots"}),
            "Advanced filter, condition 1 (Engagement score): Must be a number.",
        ),
        (
            tree(
                {"field": "country", "operator": "eq", "value": "US"},
                {"field": "nope", "operator": "eq", "value": "x"},
            ),
            "Advanced filter, condition 2 (nope): Unknown field &#x27;nope&#x27;.",
        ),
        (
            tree({"field": "fit_grade", "operator": "contains", "value": "A"}),
            "Advanced filter, condition 1 (Fit grade): Use one of: eq, ne, in",
        ),
        (
            tree({"field": "fit_grade", "operator": "at_least", "value": "Z"}),
            "Advanced filter, condition 1 (Fit grade): Must be one of",
        ),
    ],
)
def test_a_bad_condition_is_named_by_its_row(owner_client, workspace, scored, conditions, message):
    response = listed(owner_client, workspace, conditions)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'aria-invalid="true"' in html  # on the row's value input, with its message
    assert response.context["page"] is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{", "The value is not valid JSON"),
        ("[1, 2]", "Advanced filter: Must be a JSON object."),
        ('{"match": "some", "children": []}', "Advanced filter, match: Must be &quot;all&quot;"),
    ],
)
def test_conditions_that_do_not_read_are_errors_not_500(
    owner_client, workspace, scored, raw, message
):
    response = owner_client.get(url(workspace, "contacts/"), {"conditions": raw})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_a_posted_editor_with_bad_json_shows_it_again(owner_client, workspace, scored):
    sent = {**rows(), "conditions-mode": "json", "conditions-json": '{"match": "all",'}
    response = owner_client.get(url(workspace, "contacts/"), sent)
    assert response.status_code == 200  # not redirected: there is no tree to link to
    editor = response.context["condition_editor"]
    assert editor.json_mode and editor.json_text == '{"match": "all",'
    assert "not valid JSON" in response.content.decode()


def test_condition_values_are_escaped(owner_client, workspace, scored):
    evil = tree({"field": "first_name", "operator": "eq", "value": "<script>alert(1)</script>"})
    unknown = tree({"field": "<img src=x>", "operator": "eq", "value": "x"})
    for conditions in (evil, unknown):
        html = listed(owner_client, workspace, conditions).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "<img src=x>" not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
        in listed(owner_client, workspace, evil).content.decode()
    )


def test_another_workspaces_contacts_never_show(owner_client, workspace, other_workspace, scored):
    owner = Membership.objects.get(workspace=other_workspace).user
    contact_upsert(
        workspace=other_workspace,
        data={"email": "zed@other-co.com", "first_name": "Zed", "country": "US"},
        actor=Actor.for_user(owner),
    )
    us = tree({"field": "country", "operator": "eq", "value": "US"})
    response = listed(owner_client, workspace, us)
    assert names_in(response) == ["Ann", "Cid", "Dee"]
    exported = _csv(
        owner_client.get(url(workspace, f"contacts/export.csv?{response.context['query']}"))
    )
    assert "Zed" not in {row["first_name"] for row in exported}
    # Its members cannot reach this workspace's list, conditions or not.
    stranger = Client()
    stranger.force_login(owner)
    assert stranger.get(url(workspace, f"contacts/?{response.context['query']}")).status_code == 404


def test_a_sales_member_filters_only_their_own_leads(client_for, workspace, owner_actor, scored):
    client, seller = client_for("sales", "sam@acme-widgets.com")
    contact_upsert(
        workspace=workspace,
        data={"email": scored["Cid"].email, "owner_id": seller.user_id},
        actor=owner_actor,
    )
    us = tree({"field": "country", "operator": "eq", "value": "US"})
    assert names_in(listed(client, workspace, us)) == ["Cid"]
    everyone = tree({"field": "owner", "operator": "is_empty"}, match="any")
    assert names_in(listed(client, workspace, everyone)) == []
