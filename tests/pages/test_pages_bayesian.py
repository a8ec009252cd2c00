"""A landing page's A/B test picked by the Bayesian method: chosen per page in the API and
the app, its probability of being the best per variant in the page's results and the API's
stats, the minimum sample respected."""

import json
import re
import uuid

from django.test import Client

from leadflow.pages import counters
from leadflow.pages.models import Variant
from tests.conftest import PASSWORD


def _convert(workspace, variant_id: int, count: int) -> None:
    """``count`` leads sent from the published page's variant, through the public path."""
    path = f"/lp/{workspace.slug}/spring-guide/"
    for _ in range(count):
        client = Client()
        token = re.search(r'name="_lf_t" value="([^"]+)"', client.get(path).text).group(1)
        body = {
            "fields": {"email": f"lead-{uuid.uuid4().hex[:10]}@initech.com"},
            "submission_id": str(uuid.uuid4()),
            "token": token,
            "variant": variant_id,
            "context": {"page_url": f"http://testserver{path}"},
        }
        answer = client.post(path + "submit", json.dumps(body), content_type="application/json")
        assert answer.status_code in (200, 201), answer.text


def test_the_method_is_chosen_per_page_and_the_bayesian_verdict_is_in_the_api_and_the_app(
    api, workspace, published, settings
):
    settings.LEADFLOW_FORM_RATE_PER_IP = 0  # eleven leads from the test's one address
    a, b = Variant.objects.filter(page=published).order_by("label")
    _convert(workspace, a.pk, 2)
    _convert(workspace, b.pk, 9)
    counters.views_discard()  # the views of those GETs (a random variant each) go
    Variant.objects.filter(page=published).update(views=20)  # counted views, as flushed

    bad = api.patch(f"/pages/{published.pk}", {"test_method": "bayes"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "test_method"
    z_test = api.get(f"/pages/{published.pk}/stats").json()
    assert z_test["method"] == "z_test" and z_test["why"].startswith("Too few views")
    assert [row["probability_best"] for row in z_test["variants"]] == [None, None]

    changed = api.patch(f"/pages/{published.pk}", {"test_method": "bayesian"}).json()
    assert changed["test_method"] == "bayesian"
    stats = api.get(f"/pages/{published.pk}/stats").json()
    chances = {row["label"]: row["probability_best"] for row in stats["variants"]}
    assert [row["conversions"] for row in stats["variants"]] == [2, 9]
    assert stats["method"] == "bayesian" and stats["best"] == "B"
    assert chances["B"] > 0.99 and abs(chances["A"] + chances["B"] - 1) < 1e-9
    assert stats["winner"] is None and stats["why"] == "Too few views for A, B (under 100)"

    api.patch(f"/pages/{published.pk}", {"min_sample": 20})
    stats = api.get(f"/pages/{published.pk}/stats").json()
    assert stats["winner"] == "B" and stats["why"] == ""

    owner = Client()
    assert owner.login(username="owner@acme-widgets.com", password=PASSWORD)
    editor = owner.get(f"/w/{workspace.slug}/pages/{published.pk}/").text
    assert '<option value="bayesian" selected>' in editor
    assert (
        "Chance to be best" in editor and "Variant B wins</strong> (Bayesian test at 95%)" in editor
    )
    assert f"{100 * chances['B']:.1f}%" in editor
    # The app's settings form switches back, and a bad method is named beside its input.
    form = {"name": published.name, "slug": published.slug, "form_id": published.form_id}
    form |= {"min_sample": "20", "confidence": "0.95"}
    refused = owner.post(
        f"/w/{workspace.slug}/pages/{published.pk}/settings/", form | {"test_method": "coin"}
    )
    assert refused.status_code == 422 and "z_test or bayesian." in refused.text
    owner.post(
        f"/w/{workspace.slug}/pages/{published.pk}/settings/", form | {"test_method": "z_test"}
    )
    published.refresh_from_db()
    assert published.test_method == "z_test"
    assert "Chance to be best" not in owner.get(f"/w/{workspace.slug}/pages/{published.pk}/").text


def test_another_workspaces_page_is_not_found(other_api, published):
    assert other_api.patch(f"/pages/{published.pk}", {"test_method": "bayesian"}).status_code == 404
