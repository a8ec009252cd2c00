"""Pop-ups without a browser: the rules a member writes, the one configuration a page gets
(the server's targeting applied), the counters, the tracker's hook, and the API."""

import json

import pytest
from django.test import Client

from leadflow.capture.popups import services
from leadflow.capture.popups.models import Popup
from leadflow.capture.popups.rules import glob_match
from leadflow.contacts.services import contact_upsert
from leadflow.core.errors import ValidationFailed
from leadflow.tracking.models import Visitor

SITE = "https://www.acme-widgets.com"
EVENT = "/e/popups/event"


def make(workspace, actor, **data):
    base = {"name": "Spring offer", "title": "Get the guide", "status": "active"}
    return services.popup_create(workspace=workspace, actor=actor, data={**base, **data})


def config(workspace, **params):
    response = Client().get(
        "/e/popups", {"key": workspace.public_key, **params}, headers={"Origin": SITE}
    )
    assert response.status_code == 200, response.content
    return [popup["id"] for popup in response.json()["popups"]], response


def test_glob_patterns_match_whole_texts_in_linear_steps():
    assert glob_match("/blog/*", "/Blog/how-to")
    assert glob_match("*pricing*", "https://x.com/en/pricing?plan=pro")
    assert not glob_match("/blog/*", "/about")
    assert not glob_match("/blog", "/blog/x")
    assert glob_match("*", "")
    # The classic backtracking trap answers at once.
    assert not glob_match("*a*a*a*a*a*a*a*a*a*b", "a" * 5000)


def test_bad_settings_are_refused_naming_each_field(workspace, owner_actor):
    with pytest.raises(ValidationFailed) as failure:
        make(
            workspace,
            owner_actor,
            name="",
            style="fullscreen",
            content="form",
            triggers={"time_seconds": -1, "scroll_percent": 150, "nope": 1},
            targeting={
                "devices": ["watch"],
                "include": ["x" * 300],
                "conditions": {"field": "nope", "operator": "eq", "value": "x"},
            },
            frequency={"every_days": 1.5, "stop_after_convert": "yes"},
        )
    fields = {error.field for error in failure.value.errors}
    assert {
        "style",
        "triggers.time_seconds",
        "triggers.scroll_percent",
        "triggers.nope",
        "targeting.devices",
        "targeting.include[0]",
        "targeting.conditions.field",
        "frequency.every_days",
        "frequency.stop_after_convert",
    } <= fields
    with pytest.raises(ValidationFailed) as failure:
        make(workspace, owner_actor, content="link", triggers={})
    assert {e.field for e in failure.value.errors} == {"triggers"}
    with pytest.raises(ValidationFailed) as failure:
        make(workspace, owner_actor, content="link", link_url="javascript:alert(1)")
    assert {e.field for e in failure.value.errors} == {"link_url", "link_label"}
    assert not Popup.objects.exists()


def test_the_page_gets_the_popups_its_visit_qualifies_for(workspace, other_workspace, owner_actor):
    everyone = make(workspace, owner_actor, name="Everyone")
    make(workspace, owner_actor, name="Paused", status="paused")
    from_ads = make(
        workspace, owner_actor, name="Ads", targeting={"utm_source": ["goo*"], "channels": []}
    )
    from_search = make(
        workspace, owner_actor, name="Search", targeting={"channels": ["organic_search"]}
    )
    make(other_workspace, owner_actor, name="Theirs")
    ids, response = config(workspace)
    assert ids == [everyone.pk]
    assert response["Cache-Control"] == "private, max-age=120"
    assert response["Access-Control-Allow-Origin"] == SITE
    ids, _ = config(workspace, us="Google", um="cpc")
    assert ids == [everyone.pk, from_ads.pk]
    ids, _ = config(workspace, r="https://www.google.com/", s=SITE)
    assert ids == [everyone.pk, from_search.pk]
    # What the browser judges comes along; the server's own rules do not.
    popup = config(workspace)[1].json()["popups"][0]
    assert popup["triggers"]["time_seconds"] == 5
    assert "conditions" not in popup and "audience" not in popup


def test_known_visitors_are_judged_by_the_condition_language(workspace, owner_actor):
    not_customers = make(
        workspace,
        owner_actor,
        name="Subscribe",
        targeting={
            "conditions": {"field": "lifecycle_stage", "operator": "ne", "value": "customer"}
        },
    )
    only_known = make(workspace, owner_actor, name="Known", targeting={"audience": "known"})
    only_anonymous = make(
        workspace, owner_actor, name="Anonymous", targeting={"audience": "anonymous"}
    )
    customer = contact_upsert(
        workspace=workspace,
        data={"email": "buyer@initech.com", "lifecycle_stage": "customer"},
        actor=owner_actor,
    ).contact
    lead = contact_upsert(
        workspace=workspace, data={"email": "lead@initech.com"}, actor=owner_actor
    ).contact
    Visitor.objects.create(workspace=workspace, visitor_key="visitor-customer", contact=customer)
    Visitor.objects.create(workspace=workspace, visitor_key="visitor-lead", contact=lead)
    Visitor.objects.create(workspace=workspace, visitor_key="visitor-anon")
    assert config(workspace, v="visitor-anon")[0] == [not_customers.pk, only_anonymous.pk]
    assert config(workspace, v="visitor-lead")[0] == [not_customers.pk, only_known.pk]
    assert config(workspace, v="visitor-customer")[0] == [only_known.pk]
    assert config(workspace, v="bad key!")[0] == [not_customers.pk, only_anonymous.pk]


def test_views_closes_and_conversions_are_counted(workspace, other_workspace, owner_actor):
    popup = make(workspace, owner_actor)
    paused = make(workspace, owner_actor, status="paused")
    client = Client()

    def send(body, origin=SITE):
        return client.post(
            EVENT, json.dumps(body), content_type="text/plain", headers={"Origin": origin}
        )

    key = workspace.public_key
    for kind in ("view", "view", "view", "view", "close", "conversion"):
        assert send({"key": key, "popup": popup.pk, "type": kind}).status_code == 204
    popup.refresh_from_db()
    assert (popup.views, popup.closes, popup.conversions, popup.conversion_rate) == (4, 1, 1, 25.0)
    assert send({"key": key, "popup": paused.pk, "type": "view"}).status_code == 404
    other = other_workspace.public_key
    assert send({"key": other, "popup": popup.pk, "type": "view"}).status_code == 404
    bad = send({"key": key, "popup": "1", "type": "stare"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"popup", "type"}
    assert send([1]).status_code == 422
    assert send({"key": "pk_nope", "popup": 1, "type": "view"}).status_code == 404
    workspace.allowed_origins = [SITE]
    workspace.save()
    refused = send({"key": key, "popup": popup.pk, "type": "view"}, origin="https://evil.example")
    assert refused.status_code == 403
    popup.refresh_from_db()
    assert popup.views == 4


def test_the_rate_limit_answers_429(workspace, owner_actor, settings):
    settings.LEADFLOW_EVENT_RATE_PER_IP = 2
    popup = make(workspace, owner_actor)
    body = json.dumps({"key": workspace.public_key, "popup": popup.pk, "type": "view"})
    answers = [Client().post(EVENT, body, content_type="text/plain").status_code for _ in range(3)]
    assert answers == [204, 204, 429]


def test_the_tracker_is_told_of_the_popup_script_only_while_one_is_active(workspace, owner_actor):
    def tracker_config():
        return Client().get("/e/config", {"key": workspace.public_key}).json()

    assert "scripts" not in tracker_config()
    popup = make(workspace, owner_actor, status="paused")
    assert "scripts" not in tracker_config()
    services.popup_update(
        workspace=workspace, popup_id=popup.pk, data={"status": "active"}, actor=owner_actor
    )
    assert tracker_config()["scripts"] == [f"/static/leadflow/popups.js?k={workspace.public_key}"]


def test_the_api_creates_lists_changes_and_deletes(api, other_api, workspace, lead_form):
    created = api.post(
        "/capture/popups",
        {
            "name": "Demo",
            "title": "Book a demo",
            "content": "form",
            "form_id": lead_form.pk,
            "status": "active",
            "triggers": {"scroll_percent": 50},
            "targeting": {"include": ["/pricing*"], "devices": ["desktop"]},
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["triggers"]["scroll_percent"] == 50 and body["conversion_rate"] is None
    assert body["frequency"]["closed_days"] == 7
    popup_id = body["id"]
    listed = api.get("/capture/popups").json()["items"]
    assert [item["id"] for item in listed] == [popup_id]
    assert other_api.get(f"/capture/popups/{popup_id}").status_code == 404
    assert other_api.patch(f"/capture/popups/{popup_id}", {"name": "x"}).status_code == 404
    bad = api.patch(f"/capture/popups/{popup_id}", {"content": "link", "form_id": 999999})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"form_id"}
    changed = api.patch(f"/capture/popups/{popup_id}", {"style": "slide_in"})
    assert changed.json()["style"] == "slide_in"
    assert other_api.delete(f"/capture/popups/{popup_id}").status_code == 404
    assert api.delete(f"/capture/popups/{popup_id}").status_code == 204
    assert api.get(f"/capture/popups/{popup_id}").status_code == 404


def test_conditions_that_no_longer_compile_hide_the_popup_from_known_visitors(
    workspace, owner_actor
):
    from leadflow.contacts.models import CustomField

    CustomField.objects.create(workspace=workspace, key="plan", label="Plan", field_type="text")
    popup = make(
        workspace,
        owner_actor,
        targeting={"conditions": {"field": "custom.plan", "operator": "eq", "value": "pro"}},
    )
    CustomField.objects.filter(workspace=workspace, key="plan").delete()
    contact = contact_upsert(
        workspace=workspace, data={"email": "pro@initech.com"}, actor=owner_actor
    ).contact
    Visitor.objects.create(workspace=workspace, visitor_key="visitor-known", contact=contact)
    assert config(workspace, v="visitor-known")[0] == []
    assert config(workspace, v="visitor-anonymous")[0] == [popup.pk]


def test_the_popup_script_stays_small():
    """popups.js is loaded on every page of a site with an active pop-up: under 6 KB gzipped."""
    import gzip
    from pathlib import Path

    from django.contrib.staticfiles import finders

    path = finders.find("leadflow/popups.js")
    assert path and path.endswith("capture/static/leadflow/popups.js")
    size = len(gzip.compress(Path(path).read_bytes(), compresslevel=9))
    assert size < 6 * 1024, f"popups.js is {size} bytes gzipped"
