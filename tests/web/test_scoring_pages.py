"""The ideal customer profile page (fit rules through the condition editor, the base
grade, the MQL rule with its count), the MQL queue with accept / reject, and the contact's
Score panel."""

from leadflow.contacts.models import Activity, Contact
from leadflow.contacts.services import contact_upsert
from leadflow.scoring import services
from leadflow.scoring.models import FitRule, ScoringProfile
from tests.web.conftest import url


def rows(prefix: str, *conditions: tuple[str, str, str], match: str = "all") -> dict:
    """The editor's posted rows, plus one blank row (skipped)."""
    fields = [c[0] for c in conditions] + [""]
    return {
        f"{prefix}-match": match,
        f"{prefix}-field": fields,
        f"{prefix}-operator": [c[1] for c in conditions] + ["eq"],
        f"{prefix}-value": [c[2] for c in conditions] + [""],
    }


def test_the_profile_page_shows_the_default_rules_their_counts_and_the_grades(
    owner_client, workspace, make_contact
):
    make_contact(email="cto@initech.com", job_title="CTO")
    page = owner_client.get(url(workspace, "settings/scoring/profile/"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ideal customer profile" in html
    assert "Senior job title" in html and "Corporate email domain" in html
    assert 'name="rule-field"' in html and 'name="mql-field"' in html
    assert "Grades today" in html and "The rule is off." in html


def test_a_rule_is_added_from_the_editor_rows_and_grades_follow(
    owner_client, workspace, make_contact
):
    services.profile_get(workspace)
    FitRule.objects.filter(workspace=workspace).delete()
    posted = {
        "name": "Software",
        "step": "2",
        **rows(
            "rule",
            ("company.industry", "in", "Software, SaaS"),
            ("job_title", "contains", "engineer"),
            match="any",
        ),
    }
    answer = owner_client.post(url(workspace, "settings/scoring/fit-rules/new/"), posted)
    assert answer.status_code == 302
    rule = FitRule.objects.get(workspace=workspace)
    assert (rule.name, rule.step) == ("Software", 2)
    assert rule.conditions == {
        "version": 1,
        "match": "any",
        "children": [
            {"field": "company.industry", "operator": "in", "value": ["Software", "SaaS"]},
            {"field": "job_title", "operator": "contains", "value": "engineer"},
        ],
    }
    engineer = make_contact(email="e@x.example", job_title="Senior Engineer")
    services.fit_grades_write(workspace_id=workspace.pk)
    assert Contact.objects.get(pk=engineer.pk).fit_grade == "A"
    edit = owner_client.get(url(workspace, f"settings/scoring/fit-rules/{rule.pk}/"))
    assert 'value="Software, SaaS"' in edit.content.decode()


def test_a_bad_row_is_named_on_its_row_and_nothing_is_saved(owner_client, workspace):
    services.profile_get(workspace)
    before = FitRule.objects.filter(workspace=workspace).count()
    posted = {
        "name": "",
        "step": "1",
        **rows("rule", ("engagement_score", "gte", "lots"), ("nope", "eq", "x")),
    }
    answer = owner_client.post(url(workspace, "settings/scoring/fit-rules/new/"), posted)
    html = answer.content.decode()
    assert answer.status_code == 422
    assert "Must be a number." in html and "Unknown field" in html
    assert 'value="lots"' in html  # what was typed stays
    assert FitRule.objects.filter(workspace=workspace).count() == before


def test_the_mql_rule_is_counted_then_saved(owner_client, workspace, make_contact):
    services.profile_get(workspace)
    ready = make_contact(email="ready@x.example")
    Contact.objects.filter(pk=ready.pk).update(engagement_score=80)
    make_contact(email="cold@x.example")
    posted = rows("mql", ("engagement_score", "gte", "50"))
    preview = owner_client.post(
        url(workspace, "settings/scoring/mql-rule/"), posted, headers={"HX-Request": "true"}
    )
    assert preview.content.decode() == "1 lead(s) match now."
    assert ScoringProfile.objects.get(workspace=workspace).mql_conditions == {}
    saved = owner_client.post(url(workspace, "settings/scoring/mql-rule/"), posted)
    assert saved.status_code == 302
    profile = ScoringProfile.objects.get(workspace=workspace)
    assert profile.mql_conditions["children"] == [
        {"field": "engagement_score", "operator": "gte", "value": 50}
    ]
    bad = owner_client.post(
        url(workspace, "settings/scoring/mql-rule/"),
        rows("mql", ("fit_grade", "at_least", "Z")),
    )
    assert bad.status_code == 422
    assert "Must be one of: F, E, D, C, B, A." in bad.content.decode()


def test_the_thresholds_have_one_home_the_engagement_page(owner_client, workspace, owner_actor):
    """The profile page shows the temperature thresholds and links to the engagement page,
    where they are set; saving the MQL rule leaves them alone whatever is posted."""
    services.profile_update(
        workspace=workspace,
        actor=owner_actor,
        values={"warm_threshold": 12.0, "hot_threshold": 45.0},
    )
    html = owner_client.get(url(workspace, "settings/scoring/profile/")).content.decode()
    assert "warm from 12 points, hot from 45" in html
    assert 'name="warm_threshold"' not in html and 'name="hot_threshold"' not in html
    assert f"/w/{workspace.slug}/settings/scoring/engagement/#decay" in html
    owner_client.post(
        url(workspace, "settings/scoring/mql-rule/"),
        {
            "warm_threshold": "1",
            "hot_threshold": "2",
            **rows("mql", ("engagement_score", "gte", "5")),
        },
    )
    profile = ScoringProfile.objects.get(workspace=workspace)
    assert (profile.warm_threshold, profile.hot_threshold) == (12.0, 45.0)


def test_the_queue_lists_visible_mqls_likeliest_first_and_sales_decides(
    owner_client, client_for, workspace, owner_actor
):
    seller_client, seller = client_for("sales")

    def mql(email, probability, score, owner=None):
        contact = contact_upsert(
            workspace=workspace,
            data={"email": email, "lifecycle_stage": "mql", "owner_id": owner},
            actor=owner_actor,
        ).contact
        Contact.objects.filter(pk=contact.pk).update(
            conversion_probability=probability, engagement_score=score
        )
        return contact

    mine = mql("mine@x.example", 0.2, 10, owner=seller.user_id)
    likely = mql("likely@x.example", 0.9, 5)
    unscored = mql("unscored@x.example", None, 99)
    html = owner_client.get(url(workspace, "mql/")).content.decode()
    order = [html.index(c.email) for c in (likely, mine, unscored)]
    assert order == sorted(order)
    seller_html = seller_client.get(url(workspace, "mql/")).content.decode()
    assert "mine@x.example" in seller_html and "likely@x.example" not in seller_html
    assert seller_client.post(url(workspace, f"mql/{likely.pk}/accept/")).status_code == 404
    assert seller_client.post(url(workspace, f"mql/{mine.pk}/accept/")).status_code == 302
    assert Contact.objects.get(pk=mine.pk).lifecycle_stage == "sql"
    refused = owner_client.post(url(workspace, f"mql/{likely.pk}/reject/"), {"reason": ""})
    assert refused.status_code == 302 and Contact.objects.get(pk=likely.pk).lifecycle_stage == "mql"
    owner_client.post(url(workspace, f"mql/{likely.pk}/reject/"), {"reason": "Competitor"})
    assert Contact.objects.get(pk=likely.pk).lifecycle_stage == "nurture"
    change = Activity.objects.filter(contact_id=likely.pk, kind="stage.changed").latest("pk")
    assert change.data["reason"] == "Competitor"


def test_the_contact_page_shows_the_score_panel_with_matched_rules(
    owner_client, workspace, make_contact
):
    services.profile_get(workspace)
    contact = make_contact(email="boss@initech.com", job_title="Head of Sales")
    services.fit_grades_write(workspace_id=workspace.pk)
    Contact.objects.filter(pk=contact.pk).update(lifecycle_stage="mql")
    html = owner_client.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    assert 'id="score"' in html
    assert "Senior job title" in html and "Corporate email domain" in html
    assert "No model yet" in html
    assert "Accept MQL" in html


def test_the_list_shows_scores_and_a_sellers_hottest_leads_come_first(
    client_for, workspace, owner_actor
):
    seller_client, seller = client_for("sales")
    for email, score in (("warm@x.example", 20), ("hot@x.example", 90), ("cold@x.example", 1)):
        contact = contact_upsert(
            workspace=workspace,
            data={"email": email, "owner_id": seller.user_id},
            actor=owner_actor,
        ).contact
        Contact.objects.filter(pk=contact.pk).update(engagement_score=score, fit_grade="B")
    html = seller_client.get(url(workspace, "contacts/")).content.decode()
    order = [html.index(email) for email in ("hot@x.example", "warm@x.example", "cold@x.example")]
    assert order == sorted(order)
    assert "grade-B" in html


def test_counting_an_unfinished_mql_rule_says_what_is_missing(owner_client, workspace):
    posted = rows("mql", ("engagement_score", "gte", ""))
    answer = owner_client.post(
        url(workspace, "settings/scoring/mql-rule/"), posted, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert answer.content.decode() == "Not counted yet (children[0].value: Must be a number.)"
