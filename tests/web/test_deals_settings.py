"""Settings → Deals: the deal settings, pipelines and their stages through the page; bad
input named beside its input, conflicts shown, roles, CSRF, tenancy and the query count."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadflow.core.actors import Actor
from leadflow.core.models import Membership
from leadflow.deals import services
from leadflow.deals.models import Deal, DealSettings, DealStageChange, Pipeline, Stage
from tests.web.conftest import url

pytestmark = pytest.mark.django_db
BASE = "settings/deals/"


@pytest.fixture
def pipeline(workspace):
    return services.pipeline_default_ensure(workspace)


def stage_named(pipeline, name) -> Stage:
    return Stage.objects.get(pipeline=pipeline, name=name)


def names(pipeline) -> list[str]:
    return list(Stage.objects.filter(pipeline=pipeline).values_list("name", flat=True))


def deal_in(workspace, owner_actor, stage, title="Widgets for Initech") -> Deal:
    return services.deal_create(
        workspace=workspace,
        actor=owner_actor,
        values={"title": title, "pipeline_id": stage.pipeline_id, "stage_id": stage.pk},
    )


def test_an_admin_saves_the_currency_the_lost_reasons_and_the_nurture_switch(
    owner_client, workspace, pipeline
):
    answer = owner_client.post(
        url(workspace, BASE),
        {"currency": "eur", "lost_reasons": "Price\n\n  Timing \nPrice\nNo budget"},
    )
    assert answer.status_code == 302
    found = DealSettings.objects.get(workspace=workspace)
    assert found.currency == "EUR"
    assert found.lost_reasons == ["Price", "Timing", "No budget"]
    assert found.nurture_when_all_lost is False  # the box was not ticked
    page = owner_client.get(url(workspace, BASE)).content.decode()
    assert "Price\nTiming\nNo budget</textarea>" in page


def test_a_bad_currency_and_too_long_reasons_are_named_and_nothing_is_saved(
    owner_client, workspace, pipeline
):
    answer = owner_client.post(
        url(workspace, BASE),
        {"currency": "EURO", "lost_reasons": "x" * 201, "nurture_when_all_lost": "on"},
    )
    assert answer.status_code == 422
    assert set(answer.context["errors"]) == {"currency", "lost_reasons"}
    page = answer.content.decode()
    assert "An ISO 4217 code such as USD or EUR." in page
    assert 'value="EURO"' in page  # what was typed comes back
    found = DealSettings.objects.get(workspace=workspace)
    assert found.currency == "" and found.nurture_when_all_lost is True


def test_an_admin_adds_renames_moves_and_deletes_a_pipeline(owner_client, workspace, pipeline):
    answer = owner_client.post(url(workspace, BASE + "pipelines/"), {"name": "Renewals"})
    renewals = Pipeline.objects.get(workspace=workspace, name="Renewals")
    assert answer.status_code == 302 and answer["Location"].endswith(f"/pipelines/{renewals.pk}/")
    assert names(renewals) == ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    renamed = owner_client.post(
        url(workspace, BASE + f"pipelines/{renewals.pk}/"), {"name": "Upsells"}
    )
    assert renamed.status_code == 302
    renewals.refresh_from_db()
    assert renewals.name == "Upsells"
    owner_client.post(url(workspace, BASE + f"pipelines/{renewals.pk}/move/"), {"direction": "up"})
    assert [p.name for p in Pipeline.objects.filter(workspace=workspace)] == ["Upsells", "Sales"]
    assert services.pipeline_default_ensure(workspace).pk == renewals.pk
    page = owner_client.get(url(workspace, BASE)).content.decode()
    assert page.index("Upsells") < page.index("Sales") and "Default" in page
    owner_client.post(
        url(workspace, BASE + f"pipelines/{renewals.pk}/move/"), {"direction": "down"}
    )
    assert Pipeline.objects.filter(workspace=workspace).first().name == "Sales"
    deleted = owner_client.post(url(workspace, BASE + f"pipelines/{renewals.pk}/delete/"))
    assert deleted.status_code == 302
    assert not Pipeline.objects.filter(pk=renewals.pk).exists()


def test_a_blank_or_taken_pipeline_name_is_named_beside_its_input(
    owner_client, workspace, pipeline
):
    blank = owner_client.post(url(workspace, BASE + "pipelines/"), {"name": "  "})
    assert blank.status_code == 422 and "1 to 100 characters." in blank.content.decode()
    taken = owner_client.post(url(workspace, BASE + "pipelines/"), {"name": "Sales"})
    assert taken.status_code == 422
    assert "Another pipeline has this name." in taken.content.decode()
    other = services.pipeline_create(
        workspace=workspace, actor=Actor.system(), values={"name": "Renewals"}
    )
    rename = owner_client.post(url(workspace, BASE + f"pipelines/{other.pk}/"), {"name": "Sales"})
    assert rename.status_code == 422
    assert 'id="id_rename_error"' in rename.content.decode()
    assert Pipeline.objects.filter(workspace=workspace).count() == 2


def test_deleting_a_pipeline_with_deals_or_the_last_one_is_refused_with_why(
    owner_client, workspace, pipeline, owner_actor
):
    deal_in(workspace, owner_actor, stage_named(pipeline, "New"))
    answer = owner_client.post(
        url(workspace, BASE + f"pipelines/{pipeline.pk}/delete/"), follow=True
    )
    assert "This pipeline has deals: move or delete them first." in answer.content.decode()
    Deal.objects.filter(workspace=workspace).delete()
    answer = owner_client.post(
        url(workspace, BASE + f"pipelines/{pipeline.pk}/delete/"), follow=True
    )
    assert answer.status_code == 200
    assert "A workspace keeps at least one pipeline." in answer.content.decode()
    assert Pipeline.objects.filter(pk=pipeline.pk).exists()


def test_an_admin_adds_a_stage_before_won_edits_and_moves_it(owner_client, workspace, pipeline):
    won = stage_named(pipeline, "Won")
    base = BASE + f"pipelines/{pipeline.pk}/"
    answer = owner_client.post(
        url(workspace, base + "stages/"),
        {"name": "Legal review", "probability": "85", "kind": "open", "before": str(won.pk)},
    )
    assert answer.status_code == 302
    assert names(pipeline)[3:6] == ["Negotiation", "Legal review", "Won"]
    review = stage_named(pipeline, "Legal review")
    assert review.probability == 85
    edited = owner_client.post(
        url(workspace, BASE + f"stages/{review.pk}/"),
        {"name": "Legal", "probability": "90", "kind": "open"},
    )
    assert edited.status_code == 302
    review.refresh_from_db()
    assert (review.name, review.probability) == ("Legal", 90)
    owner_client.post(url(workspace, BASE + f"stages/{review.pk}/move/"), {"direction": "up"})
    assert names(pipeline)[2:5] == ["Proposal", "Legal", "Negotiation"]
    owner_client.post(url(workspace, BASE + f"stages/{review.pk}/move/"), {"direction": "down"})
    assert names(pipeline)[3:5] == ["Negotiation", "Legal"]
    deleted = owner_client.post(url(workspace, BASE + f"stages/{review.pk}/delete/"))
    assert deleted.status_code == 302 and "Legal" not in names(pipeline)


def test_bad_stage_input_is_named_beside_each_input_and_nothing_is_added(
    owner_client, workspace, pipeline
):
    base = BASE + f"pipelines/{pipeline.pk}/stages/"
    answer = owner_client.post(
        url(workspace, base), {"name": "", "probability": "150", "kind": "maybe"}
    )
    assert answer.status_code == 422
    assert set(answer.context["stage_errors"]) == {"name", "probability", "kind"}
    page = answer.content.decode()
    assert "A whole number from 0 to 100." in page and "One of open, won, lost." in page
    words = owner_client.post(
        url(workspace, base), {"name": "New", "probability": "ten", "kind": "open"}
    )
    assert words.status_code == 422
    assert set(words.context["stage_errors"]) == {"probability"}
    taken = owner_client.post(
        url(workspace, base), {"name": "New", "probability": "10", "kind": "open"}
    )
    assert taken.status_code == 422
    assert "Another stage of this pipeline has this name." in taken.content.decode()
    assert len(names(pipeline)) == 6
    new = stage_named(pipeline, "New")
    edit = owner_client.post(
        url(workspace, BASE + f"stages/{new.pk}/"), {"name": "New", "probability": "-1"}
    )
    assert edit.status_code == 422 and set(edit.context["errors"]) == {"probability", "kind"}


def test_a_stage_holding_deals_asks_where_they_go_and_moves_them(
    owner_client, workspace, pipeline, owner_actor
):
    new, qualified = stage_named(pipeline, "New"), stage_named(pipeline, "Qualified")
    deal = deal_in(workspace, owner_actor, new)
    page = owner_client.get(url(workspace, BASE + f"pipelines/{pipeline.pk}/")).content.decode()
    assert f'href="/w/{workspace.slug}/{BASE}stages/{new.pk}/delete/"' in page
    asked = owner_client.post(url(workspace, BASE + f"stages/{new.pk}/delete/"))
    assert asked.status_code == 409
    text = asked.content.decode()
    assert "This stage holds deals: choose a stage to move them to." in text
    assert [label for _, label in asked.context["targets"]] == [
        "Qualified",
        "Proposal",
        "Negotiation",
    ]
    lost = stage_named(pipeline, "Lost")
    wrong = owner_client.post(
        url(workspace, BASE + f"stages/{new.pk}/delete/"), {"move_to_stage_id": str(lost.pk)}
    )
    assert wrong.status_code == 422 and "move_to_stage_id" in wrong.context["errors"]
    words = owner_client.post(
        url(workspace, BASE + f"stages/{new.pk}/delete/"), {"move_to_stage_id": "soon"}
    )
    assert words.status_code == 422
    moved = owner_client.post(
        url(workspace, BASE + f"stages/{new.pk}/delete/"), {"move_to_stage_id": str(qualified.pk)}
    )
    assert moved.status_code == 302
    deal.refresh_from_db()
    assert deal.stage_id == qualified.pk and not Stage.objects.filter(pk=new.pk).exists()
    assert DealStageChange.objects.filter(deal=deal, to_stage=qualified).exists()


def test_the_last_open_stage_and_a_kind_change_with_deals_are_refused(
    owner_client, workspace, owner_actor
):
    pipeline = services.pipeline_create(
        workspace=workspace,
        actor=owner_actor,
        values={
            "name": "Tiny",
            "stages": [
                {"name": "Talking", "probability": 20, "kind": "open"},
                {"name": "Won", "probability": 100, "kind": "won"},
            ],
        },
    )
    talking = stage_named(pipeline, "Talking")
    answer = owner_client.post(url(workspace, BASE + f"stages/{talking.pk}/delete/"), follow=True)
    assert "A pipeline needs at least one open stage." in answer.content.decode()
    assert Stage.objects.filter(pk=talking.pk).exists()
    deal_in(workspace, owner_actor, talking)
    kind = owner_client.post(
        url(workspace, BASE + f"stages/{talking.pk}/"),
        {"name": "Talking", "probability": "20", "kind": "won"},
    )
    assert kind.status_code == 422
    assert "This stage holds deals: its kind stays." in kind.content.decode()


def test_a_sales_member_reads_the_settings_but_every_change_is_403(client_for, workspace, pipeline):
    client, _ = client_for("sales")
    new = stage_named(pipeline, "New")
    page = client.get(url(workspace, BASE))
    assert page.status_code == 200 and "Add pipeline" not in page.content.decode()
    assert client.get(url(workspace, BASE + f"pipelines/{pipeline.pk}/")).status_code == 200
    posts = [
        (BASE, {"currency": "EUR"}),
        (BASE + "pipelines/", {"name": "Mine"}),
        (BASE + f"pipelines/{pipeline.pk}/", {"name": "Mine"}),
        (BASE + f"pipelines/{pipeline.pk}/move/", {"direction": "down"}),
        (BASE + f"pipelines/{pipeline.pk}/delete/", {}),
        (BASE + f"pipelines/{pipeline.pk}/stages/", {"name": "Mine"}),
        (BASE + f"stages/{new.pk}/", {"name": "Mine"}),
        (BASE + f"stages/{new.pk}/move/", {"direction": "down"}),
        (BASE + f"stages/{new.pk}/delete/", {}),
    ]
    for path, body in posts:
        assert client.post(url(workspace, path), body).status_code == 403, path
    assert client.get(url(workspace, BASE + f"stages/{new.pk}/")).status_code == 403
    assert names(pipeline)[0] == "New" and Pipeline.objects.filter(workspace=workspace).count() == 1
    board = client.get(url(workspace, "deals/board/")).content.decode()
    assert "Pipeline settings" not in board


def test_an_admin_finds_the_settings_from_the_board(owner_client, workspace, pipeline):
    board = owner_client.get(url(workspace, "deals/board/")).content.decode()
    assert f'href="/w/{workspace.slug}/{BASE}pipelines/{pipeline.pk}/">Pipeline settings' in board


def test_another_workspaces_pipeline_and_stage_answer_404(owner_client, workspace, other_workspace):
    services.pipeline_default_ensure(workspace)
    theirs = services.pipeline_default_ensure(other_workspace)
    stage = theirs.stages.first()
    gets = [f"pipelines/{theirs.pk}/", f"stages/{stage.pk}/", f"stages/{stage.pk}/delete/"]
    for path in gets:
        assert owner_client.get(url(workspace, BASE + path)).status_code == 404, path
    posts = [
        (f"pipelines/{theirs.pk}/", {"name": "Mine"}),
        (f"pipelines/{theirs.pk}/move/", {"direction": "up"}),
        (f"pipelines/{theirs.pk}/delete/", {}),
        (f"pipelines/{theirs.pk}/stages/", {"name": "Mine"}),
        (f"stages/{stage.pk}/", {"name": "Mine", "probability": "1", "kind": "open"}),
        (f"stages/{stage.pk}/move/", {"direction": "down"}),
        (f"stages/{stage.pk}/delete/", {}),
    ]
    for path, body in posts:
        assert owner_client.post(url(workspace, BASE + path), body).status_code == 404, path
    theirs.refresh_from_db()
    assert theirs.name == "Sales" and names(theirs)[0] == "New" and len(names(theirs)) == 6


def test_every_form_needs_the_csrf_token(owner, workspace, pipeline):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    answer = client.post(url(workspace, BASE + "pipelines/"), {"name": "Renewals"})
    assert answer.status_code == 403
    page = client.get(url(workspace, BASE + f"pipelines/{pipeline.pk}/")).content.decode()
    assert page.count('<form method="post"') == page.count("csrfmiddlewaretoken")


def count_queries(client, address) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
    assert response.status_code == 200
    return len(queries)


def test_the_pages_take_a_fixed_number_of_queries(owner_client, workspace, pipeline, owner_actor):
    settings_page = url(workspace, BASE)
    pipeline_page = url(workspace, BASE + f"pipelines/{pipeline.pk}/")
    first = (count_queries(owner_client, settings_page), count_queries(owner_client, pipeline_page))
    for index in range(3):
        services.pipeline_create(
            workspace=workspace, actor=owner_actor, values={"name": f"Line {index}"}
        )
    for stage in pipeline.stages.exclude(kind="lost"):
        deal_in(workspace, owner_actor, stage, title=f"Deal in {stage.name}")
    services.stage_create(
        workspace=workspace, actor=owner_actor, pipeline_id=pipeline.pk, values={"name": "Extra"}
    )
    again = (count_queries(owner_client, settings_page), count_queries(owner_client, pipeline_page))
    assert first == again
    assert again == (9, 7)


def test_a_viewer_sees_the_nav_tab_and_the_stages(client_for, workspace, pipeline):
    client, membership = client_for("viewer")
    assert Membership.objects.get(pk=membership.pk).role == "viewer"
    page = client.get(url(workspace, BASE + f"pipelines/{pipeline.pk}/")).content.decode()
    assert 'aria-current="page">Deals</a>' in page and "Negotiation" in page
    assert "Add a stage" not in page
