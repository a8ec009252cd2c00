"""Settings → Scoring → Engagement: every member reads the rules; owners and admins add,
change, turn off and delete them, set the half-life and thresholds, and preview an edit
(recomputed, counted, rolled back: nothing changes)."""

import importlib

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from leadflow.contacts.services import contact_update
from leadflow.scoring.models import EngagementRule, ScorePoint, ScoringProfile
from leadflow.scoring.services import contacts_rescore, profile_get
from tests.scoring.engagement_helpers import event, new_contact, only_rules, rule, score
from tests.web.conftest import url

pytestmark = pytest.mark.django_db
PAGE = "settings/scoring/engagement/"


def rule_post(**changes):
    body = {
        "form": "rule",
        "name": "Pricing page",
        "trigger": "event:pageview",
        "points": "30",
        "cap_per_day": "1",
        "cap_total": "",
        "enabled": "on",
        "cond_property_0": "url",
        "cond_operator_0": "matches",
        "cond_value_0": "*pricing*",
    }
    return {**body, **changes}


@pytest.fixture
def owner_client(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def client_for(make_member):
    def make(role: str):
        membership = make_member(role)
        client = Client()
        client.force_login(membership.user)
        return client, membership

    return make


@pytest.fixture
def hot_world(workspace):
    """Two contacts: one saw the pricing page (and nothing scores yet but page views)."""
    only_rules(workspace)
    rule(workspace, points=1)
    ada, bob = new_contact(workspace), new_contact(workspace, "bob@example.com")
    now = timezone.now()
    event(workspace, ada, url="https://acme.com/pricing", at=now)
    event(workspace, bob, url="https://acme.com/blog", at=now)
    contacts_rescore(workspace_id=workspace.pk, contact_ids=[ada.pk, bob.pk])
    return ada, bob


def test_the_page_lists_the_default_rules_escaped(owner_client, workspace):
    profile_get(workspace)
    EngagementRule.objects.filter(workspace=workspace, position=0).update(name="<b>Form</b>")
    page = owner_client.get(url(workspace, PAGE))
    assert page.status_code == 200
    text = page.content.decode()
    assert "&lt;b&gt;Form&lt;/b&gt;" in text and "<b>Form</b>" not in text
    assert "Pricing page viewed" in text and "matches pattern (*)" in text
    assert "Add a rule" in text


def test_a_viewer_reads_the_rules_but_cannot_change_them(workspace, client_for):
    client, _ = client_for("viewer")
    page = client.get(url(workspace, PAGE))
    assert page.status_code == 200 and b"Add a rule" not in page.content
    assert client.post(url(workspace, PAGE + "rules/new/"), rule_post()).status_code == 403
    assert client.post(url(workspace, PAGE + "preview/"), rule_post()).status_code == 403
    first = EngagementRule.objects.filter(workspace=workspace).first()
    assert client.post(url(workspace, PAGE + f"rules/{first.pk}/delete/")).status_code == 403
    assert client.get(url(workspace, PAGE + f"rules/{first.pk}/")).status_code == 403
    assert EngagementRule.objects.filter(pk=first.pk).exists()


def test_an_owner_adds_a_rule_and_a_recompute_is_scheduled(owner_client, workspace):
    answer = owner_client.post(url(workspace, PAGE + "rules/new/"), rule_post())
    assert answer.status_code == 302
    added = EngagementRule.objects.get(workspace=workspace, name="Pricing page")
    assert (added.source, added.kind, added.points, added.cap_per_day) == (
        "event",
        "pageview",
        30,
        1,
    )
    assert added.conditions == [{"property": "url", "operator": "matches", "value": "*pricing*"}]
    assert DBTaskResult.objects.filter(
        task_path="leadflow.scoring.tasks.workspace_rescore"
    ).exists()


def test_bad_rule_input_is_shown_beside_each_input(owner_client, workspace):
    bad = rule_post(name="", trigger="event:telepathy", points="1.5", cond_property_0="data.x")
    answer = owner_client.post(url(workspace, PAGE + "rules/new/"), bad)
    assert answer.status_code == 422
    text = answer.content.decode()
    assert 'id="id_rule_name_error"' in text
    assert 'id="id_rule_trigger_error"' in text
    assert 'id="id_rule_points_error"' in text
    assert 'id="id_cond_error_0"' in text
    assert not EngagementRule.objects.filter(workspace=workspace, name="").exists()


def test_a_rule_is_edited_turned_off_and_deleted(owner_client, workspace):
    profile_get(workspace)
    first = EngagementRule.objects.filter(workspace=workspace).order_by("position").first()
    path = PAGE + f"rules/{first.pk}/"
    assert owner_client.get(url(workspace, path)).status_code == 200
    owner_client.post(url(workspace, path), rule_post(name="Renamed", points="-3"))
    first.refresh_from_db()
    assert (first.name, first.points) == ("Renamed", -3)
    owner_client.post(url(workspace, path + "toggle/"))
    first.refresh_from_db()
    assert first.enabled is False
    owner_client.post(url(workspace, path + "delete/"))
    assert not EngagementRule.objects.filter(pk=first.pk).exists()


def test_another_workspaces_rule_is_not_found(owner_client, workspace, other_workspace):
    profile_get(other_workspace)
    theirs = EngagementRule.objects.filter(workspace=other_workspace).first()
    for suffix, method in (("", "get"), ("", "post"), ("toggle/", "post"), ("delete/", "post")):
        path = url(workspace, PAGE + f"rules/{theirs.pk}/{suffix}")
        assert getattr(owner_client, method)(path).status_code == 404
    preview = owner_client.post(url(workspace, PAGE + "preview/"), rule_post(rule_id=theirs.pk))
    assert preview.status_code == 404
    assert EngagementRule.objects.filter(pk=theirs.pk, enabled=True).exists()


def test_half_life_and_thresholds_are_saved_and_checked(owner_client, workspace):
    values = {"half_life_days": "14", "warm_threshold": "10", "hot_threshold": "40"}
    assert owner_client.post(url(workspace, PAGE), values).status_code == 302
    profile = ScoringProfile.objects.get(workspace=workspace)
    assert (profile.half_life_days, profile.warm_threshold, profile.hot_threshold) == (14, 10, 40)
    bad = {"half_life_days": "0", "warm_threshold": "50", "hot_threshold": "40"}
    answer = owner_client.post(url(workspace, PAGE), bad)
    assert answer.status_code == 422
    assert b"id_half_life_days_error" in answer.content or b"half_life_days" in answer.content
    profile.refresh_from_db()
    assert profile.half_life_days == 14


def test_the_preview_counts_hot_contacts_with_the_unsaved_rule_and_keeps_nothing(
    owner_client, workspace, hot_world
):
    ada, bob = hot_world
    ledger_before = list(ScorePoint.objects.order_by("pk").values_list("pk", "points"))
    answer = owner_client.post(
        url(workspace, PAGE + "preview/"),
        rule_post(cap_per_day="", points="60"),
        headers={"HX-Request": "true", "HX-Target": "engagement-preview"},
    )
    assert answer.status_code == 200
    text = answer.content.decode()
    assert text.lstrip().startswith('<section class="card preview-card" id="engagement-preview"')
    assert "data-preview-hot>1<" in text, text
    assert EngagementRule.objects.filter(workspace=workspace, name="Pricing page").count() == 0
    assert list(ScorePoint.objects.order_by("pk").values_list("pk", "points")) == ledger_before
    assert (score(ada), score(bob)) == (1, 1)  # as before the preview
    assert not DBTaskResult.objects.filter(task_path__startswith="leadflow.scoring").exists()


def test_the_preview_counts_mql_with_the_profiles_rule(owner_client, workspace, hot_world):
    ada, _bob = hot_world
    ScoringProfile.objects.filter(workspace=workspace).update(
        mql_conditions={"field": "email", "operator": "eq", "value": "ada@example.com"}
    )
    contact_update(
        workspace=workspace,
        contact_id=ada.pk,
        data={"lifecycle_stage": "lead"},
        actor=_actor(workspace),
    )
    answer = owner_client.post(
        url(workspace, PAGE + "preview/"),
        {"form": "profile", "half_life_days": "30", "warm_threshold": "0.5", "hot_threshold": "1"},
    )
    text = answer.content.decode()
    assert answer.status_code == 200
    assert "data-preview-hot>2<" in text and "data-preview-mql>1<" in text


def test_a_preview_of_bad_input_names_the_problem(owner_client, workspace):
    answer = owner_client.post(
        url(workspace, PAGE + "preview/"),
        rule_post(points="5000"),
        headers={"HX-Request": "true", "HX-Target": "engagement-preview"},
    )
    assert answer.status_code == 422
    assert b"from -1000 to 1000" in answer.content


def _actor(workspace):
    from leadflow.core.actors import Actor

    return Actor.system("tests")


def test_a_large_workspace_is_previewed_on_a_sample_and_says_so(
    owner_client, workspace, monkeypatch
):
    module = importlib.import_module("leadflow.scoring.services.engagement_preview")
    monkeypatch.setattr(module, "SAMPLE_SIZE", 3)
    only_rules(workspace)
    rule(workspace, points=1)
    people = [new_contact(workspace, f"p{n}@example.com") for n in range(6)]
    for person in people:
        event(workspace, person, url="https://acme.com/pricing", at=timezone.now())
    contacts_rescore(workspace_id=workspace.pk, contact_ids=[p.pk for p in people])
    ledger_before = list(ScorePoint.objects.order_by("pk").values_list("pk", "points"))
    answer = owner_client.post(
        url(workspace, PAGE + "preview/"), rule_post(cap_per_day="", points="60")
    )
    text = answer.content.decode()
    assert answer.status_code == 200
    # Every one of the six saw the pricing page: the three sampled are hot, scaled to six.
    assert "data-preview-hot>6<" in text and "about" in text
    assert "Estimated from 3 contacts picked at random" in text and "all 6" in text
    assert list(ScorePoint.objects.order_by("pk").values_list("pk", "points")) == ledger_before
    assert [score(p) for p in people] == [1] * 6
