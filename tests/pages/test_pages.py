"""Landing pages: the sticky split, publishing and serving, submissions through capture's
one path with the page and variant recorded, the winner's test, bad input."""

import collections
import json
import re
import uuid

import pytest
from django.test import Client

from leadflow.capture.models import Submission
from leadflow.contacts.models import Contact
from leadflow.core.errors import ValidationFailed
from leadflow.core.stats import winner_pick
from leadflow.pages import counters, services
from leadflow.pages.models import Conversion, Variant, variant_pick


def test_the_split_is_sticky_per_visitor_and_even_over_many_visitors():
    variants = [(11, 50), (12, 50)]
    first = {f"visitor-{n}": variant_pick(f"visitor-{n}", 7, variants) for n in range(20000)}
    assert all(variant_pick(key, 7, variants) == chosen for key, chosen in first.items())
    shares = collections.Counter(first.values())
    assert abs(shares[11] / 20000 - 0.5) < 0.015  # 3 standard deviations is 0.0106
    weighted = collections.Counter(
        variant_pick(f"v{n}", 7, [(1, 20), (2, 80)]) for n in range(20000)
    )
    assert abs(weighted[1] / 20000 - 0.2) < 0.015
    # Another page splits the same visitors independently.
    other = sum(variant_pick(k, 8, variants) == v for k, v in first.items()) / 20000
    assert abs(other - 0.5) < 0.02


def test_the_winner_needs_the_minimum_sample_and_a_significant_difference():
    assert winner_pick(
        {"A": (30, 99), "B": (60, 99)}, confidence=0.95, min_sample=100
    ).why.startswith("Too few views for A, B")
    close = winner_pick({"A": (50, 1000), "B": (55, 1000)}, confidence=0.95, min_sample=100)
    assert close.winner is None and close.best == "B" and "No significant" in close.why
    clear = winner_pick({"A": (50, 1000), "B": (90, 1000)}, confidence=0.95, min_sample=100)
    assert clear.winner == "B" and clear.p < 0.01
    # Three arms: the level is split (Bonferroni), so p = 0.03 no longer wins at 95%.
    p_two = winner_pick({"A": (100, 1000), "B": (128, 1000)}, confidence=0.95, min_sample=100)
    p_three = winner_pick(
        {"A": (100, 1000), "B": (128, 1000), "C": (90, 1000)}, confidence=0.95, min_sample=100
    )
    assert 0.025 < p_two.p < 0.05 and p_two.winner == "B" and p_three.winner is None


def _submit(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_a_published_page_is_served_sticky_and_a_submission_converts_its_variant(
    workspace, published
):
    path = f"/lp/{workspace.slug}/spring-guide/"
    client = Client()
    first = client.get(path)
    assert first.status_code == 200
    assert "lf_ab" in first.cookies
    variant_id = int(re.search(r'name="_lf_variant" value="(\d+)"', first.text).group(1))
    token = re.search(r'name="_lf_t" value="([^"]+)"', first.text).group(1)
    assert token != "__lf_time_token__"
    assert (
        f'data-key="{workspace.public_key}"' in first.text
        and "/static/leadflow/lf.js" in first.text
    )
    for _ in range(5):  # the same visitor always sees the same variant
        again = client.get(path)
        assert f'name="_lf_variant" value="{variant_id}"' in again.text
    assert counters.views_flush() == 6
    assert Variant.objects.get(pk=variant_id).views == 6

    body = {
        "fields": {"email": "ana@initech.com", "first_name": "Ana"},
        "submission_id": str(uuid.uuid4()),
        "token": token,
        "variant": variant_id,
        "context": {
            "page_url": f"http://testserver{path}?utm_source=news&utm_campaign=spring&gclid=g1",
            "referrer": "https://www.google.com/",
            "visitor_id": "v-ana-1",
        },
    }
    answer = _submit(client, path + "submit", body)
    assert answer.status_code == 201, answer.content
    submission = Submission.objects.get(submission_id=body["submission_id"])
    assert submission.utm == {"utm_source": "news", "utm_campaign": "spring"}
    assert submission.visitor_id == "v-ana-1" and "gclid=g1" in submission.page_url
    conversion = Conversion.objects.get()
    assert (conversion.variant_id, conversion.submission_id) == (variant_id, submission.pk)
    assert (
        Contact.objects.get(workspace=workspace, email="ana@initech.com").first_touch_campaign
        == "spring"
    )
    # A retry stores once and converts once.
    assert _submit(client, path + "submit", body).status_code == 200
    assert Conversion.objects.count() == 1 and Submission.objects.count() == 1


def test_bad_submissions_answer_4xx_naming_the_fields_and_write_nothing(workspace, published):
    path = f"/lp/{workspace.slug}/spring-guide/submit"
    client = Client()
    token = re.search(r'name="_lf_t" value="([^"]+)"', client.get(path[:-6]).text).group(1)
    bad = _submit(client, path, {"fields": {"email": "nope"}, "token": token, "variant": 1, "x": 1})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"x"}
    bad = _submit(client, path, {"fields": {"email": "nope"}, "token": token, "variant": 999999})
    assert [e["field"] for e in bad.json()["errors"]] == ["variant"]
    variant = Variant.objects.filter(page__slug="spring-guide").first()
    bad = _submit(
        client, path, {"fields": {"email": "nope"}, "token": token, "variant": variant.pk}
    )
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["email"]
    assert not Submission.objects.exists() and not Conversion.objects.exists()
    assert client.get(f"/lp/{workspace.slug}/nothing-here/").status_code == 404
    assert _submit(client, f"/lp/{workspace.slug}/nothing-here/submit", {}).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"fields": []}',
        b'{"fields": {}, "submission_id": "nope", "context": 3}',
        b'{"fields": {}, "extra": 1}',
        b"{",
    ],
)
def test_the_page_and_the_form_read_a_json_body_alike(workspace, published, page_form, body):
    """One reading of a submission's JSON (capture.public_input): a landing page refuses
    what the form's own endpoint refuses, with the same fields named."""
    client = Client()
    page = client.post(
        f"/lp/{workspace.slug}/spring-guide/submit", body, content_type="application/json"
    )
    form = client.post(f"/f/{page_form.key}", body, content_type="application/json")
    assert page.status_code == form.status_code and page.status_code in {400, 422}
    assert page.json().get("errors") == form.json().get("errors")
    assert not Submission.objects.exists()


def test_the_page_and_the_hosted_form_show_one_field_markup(workspace, published, page_form):
    """The landing page's form block and the hosted form page render the fields with the
    same include: the same inputs, labels and honeypot."""
    client = Client()
    page = client.get(f"/lp/{workspace.slug}/spring-guide/").text
    hosted = client.get(f"/f/{page_form.key}").text
    for html in (page, hosted):
        assert '<label for="lf-email">Email *</label>' in html
        assert 'name="_lf_hp" tabindex="-1"' in html
        assert re.search(r'<input id="lf-email" name="email"[^>]*type="email"', html)
    # The page's script fills each field's error box; the hosted page has none until then.
    assert 'id="lf-email-error" role="alert"' in page and "lf-email-error" not in hosted


def test_a_page_of_another_workspace_or_an_unpublished_one_is_not_served(
    workspace, other_workspace, owner_actor, published
):
    assert Client().get(f"/lp/{other_workspace.slug}/spring-guide/").status_code == 404
    services.page_unpublish(workspace=workspace, page_id=published.pk, actor=owner_actor)
    assert Client().get(f"/lp/{workspace.slug}/spring-guide/").status_code == 404


def test_marketer_text_is_escaped_and_bad_blocks_are_named(workspace, owner_actor, published):
    variant = Variant.objects.filter(page=published).first()
    with pytest.raises(ValidationFailed) as failure:
        services.variant_update(
            workspace=workspace,
            page_id=published.pk,
            variant_id=variant.pk,
            actor=owner_actor,
            data={
                "blocks": [
                    {"type": "hero", "heading": "", "image_url": "javascript:alert(1)"},
                    {"type": "faq", "items": [{"question": "Q", "answer": 5}]},
                    {"type": "marquee"},
                ]
            },
        )
    assert {e.field for e in failure.value.errors} == {
        "blocks[0].heading",
        "blocks[0].image_url",
        "blocks[1].items[0].answer",
        "blocks[2].type",
    }
    services.variant_update(
        workspace=workspace,
        page_id=published.pk,
        variant_id=variant.pk,
        actor=owner_actor,
        data={"blocks": [{"type": "hero", "heading": "<script>alert(1)</script>"}], "weight": 100},
    )
    services.page_winner_set(
        workspace=workspace, page_id=published.pk, variant_id=variant.pk, actor=owner_actor
    )
    services.page_publish(
        workspace=workspace, page_id=published.pk, actor=owner_actor, base_url="http://testserver"
    )
    page = Client().get(f"/lp/{workspace.slug}/spring-guide/")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert "lf_ab" not in page.cookies  # all traffic to the winner: no split, no cookie


def test_the_api_builds_publishes_and_reports_a_page(api, workspace, page_form):
    bad = api.post("/pages", {"name": "", "slug": "Not A Slug", "starter": "demo"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"name", "slug"}
    page = api.post("/pages", {"name": "Demo", "slug": "demo", "starter": "demo"}).json()
    assert page["path"] == f"/lp/{workspace.slug}/demo/" and page["variants"][0]["label"] == "A"
    refused = api.post(f"/pages/{page['id']}/publish")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "form_id"
    assert api.patch(f"/pages/{page['id']}", {"form_id": page_form.pk}).status_code == 200
    b = api.post(f"/pages/{page['id']}/variants", {}).json()
    assert b["label"] == "B" and b["blocks"] == page["variants"][0]["blocks"]
    wrong = api.patch(
        f"/pages/{page['id']}/variants/{b['id']}",
        {"blocks": [{"type": "countdown", "ends_at": "soon"}], "weight": 101},
    )
    assert {e["field"] for e in wrong.json()["errors"]} == {"blocks[0].ends_at", "weight"}
    assert api.post(f"/pages/{page['id']}/publish").json()["published_at"]
    assert Client().get(page["path"]).status_code == 200
    counters.views_flush()
    stats = api.get(f"/pages/{page['id']}/stats").json()
    assert sum(v["views"] for v in stats["variants"]) == 1
    assert stats["winner"] is None and stats["why"].startswith("Too few views")
    assert api.patch("/page-brand", {"primary_colour": "red"}).json()["errors"][0]["field"] == (
        "primary_colour"
    )
    assert api.patch("/page-brand", {"primary_colour": "#AA0000"}).json()["primary_colour"] == (
        "#aa0000"
    )


def test_the_forms_lead_magnet_is_on_the_pages_thank_you(workspace, owner_actor, published):
    from leadflow.capture import magnets
    from leadflow.capture import services as capture_services
    from leadflow.capture.models import MagnetGrant

    magnet = magnets.magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "The planning sheet", "kind": "url", "url": "https://example.com/sheet"},
    )
    capture_services.form_update(
        workspace=workspace,
        form_id=published.form_id,
        actor=owner_actor,
        data={"magnet_id": magnet.pk},
    )
    path = f"/lp/{workspace.slug}/spring-guide/"
    client = Client()
    page = client.get(path).text
    token = re.search(r'name="_lf_t" value="([^"]+)"', page).group(1)
    variant_id = int(re.search(r'name="_lf_variant" value="(\d+)"', page).group(1))
    body = {
        "fields": {"email": "bo@initech.com"},
        "submission_id": str(uuid.uuid4()),
        "token": token,
        "variant": variant_id,
        "context": {"page_url": f"http://testserver{path}"},
    }
    answer = _submit(client, path + "submit", body).json()
    grant = MagnetGrant.objects.get(magnet=magnet)
    assert answer["magnet"]["name"] == "The planning sheet"
    assert answer["magnet"]["url"].startswith("http://testserver/m/")
    # Without script: the thank-you page carries the same link.
    plain = client.post(
        path + "submit",
        {"email": "cy@initech.com", "_lf_t": token, "_lf_variant": variant_id},
    )
    assert plain.status_code == 201, plain.content
    assert "Open The planning sheet" in plain.text and 'href="http://testserver/m/' in plain.text
    assert MagnetGrant.objects.filter(magnet=magnet).count() == 2 and grant.pk
