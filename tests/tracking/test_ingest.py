"""POST /e: validation, duplicates, bots, origins, privacy signals; stored before 202."""

import time

import pytest

from leadflow.tracking.models import Event, Visitor, VisitSession

from .helpers import CHROME, SITE, batch, event, send


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()


def test_a_batch_is_stored_with_its_visit_before_202(workspace):
    first = event(
        session={
            "landing_page": f"{SITE}/?utm_source=google&utm_medium=cpc",
            "referrer": "https://www.google.com/",
            "utm": {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"},
            "click_ids": {"gclid": "abc"},
        }
    )
    response = send(
        batch(workspace, [first, event("click", name="pricing-cta"), event(url=f"{SITE}/pricing")])
    )
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": 0, "errors": []}
    assert response["Access-Control-Allow-Origin"] == SITE
    visit = VisitSession.objects.get()
    assert (visit.channel, visit.source, visit.medium, visit.campaign) == (
        "paid_search",
        "google",
        "cpc",
        "spring",
    )
    assert visit.click_ids == {"gclid": "abc"} and visit.pageviews == 2
    assert Visitor.objects.get().user_agent == CHROME
    assert Event.objects.filter(session_id=visit.pk).count() == 3


def test_retried_batch_stores_once(workspace):
    payload = batch(workspace, [event(), event("click", name="cta")])
    send(payload)
    again = send(payload)
    assert again.status_code == 202
    assert again.json()["duplicates"] == 2 and again.json()["accepted"] == 0
    assert Event.objects.count() == 2
    assert VisitSession.objects.get().pageviews == 1


def test_bad_events_are_reported_by_index_and_good_ones_kept(workspace):
    now = int(time.time() * 1000)
    events = [
        event(),
        {"id": "nope", "type": "pageview", "ts": now},
        event("teleport"),
        event(ts=now - 30 * 86400 * 1000),
        event(url="x" * 2001),
        event(props={"big": "x" * 5000}),
        event("identify", props={"email": "bad"}),
        event(colour="red"),
    ]
    response = send(batch(workspace, events))
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1 and body["rejected"] == 7
    assert {(e["index"], e["field"]) for e in body["errors"]} == {
        (1, "id"),
        (2, "type"),
        (3, "ts"),
        (4, "url"),
        (5, "props"),
        (6, "props.email"),
        (7, "colour"),
    }
    assert Event.objects.count() == 1


# Half an emoji (a browser that cut a surrogate pair) and NUL: no column can hold them.
LONE_SURROGATE = "Caf\u00e9 \ud83d"
NUL = "a\x00b"
NESTED = [1]
for _ in range(20):
    NESTED = [NESTED]


@pytest.mark.parametrize("bad", [LONE_SURROGATE, NUL], ids=["lone surrogate", "NUL"])
def test_a_bad_string_rejects_only_its_event_by_index_and_field(workspace, bad):
    """One event's unstorable text is an error entry for that event; the batch's good
    events are stored (on PostgreSQL the whole batch used to fail with a 500)."""
    events = [
        event(name="Pricing \U0001f600"),  # a whole emoji is fine
        event(name=bad),
        event(url=f"{SITE}/{bad}"),
        event(referrer=bad),
        event(props={"label": bad}),
        event(props={bad: 1}),
        event(props={"list": [{"deep": bad}]}),
        event(session={"landing_page": SITE, "utm": {"utm_source": bad}}),
        event(visitor_id=f"visitor-{bad}"),
        event("custom", name="after"),
    ]
    response = send(batch(workspace, events))
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 8)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "name"),
        (2, "url"),
        (3, "referrer"),
        (4, "props"),
        (5, "props"),
        (6, "props"),
        (7, "session"),
        (8, "visitor_id"),
    ]
    assert "well-formed" in body["errors"][0]["message"]
    assert sorted(Event.objects.values_list("name", flat=True)) == ["Pricing \U0001f600", "after"]


def test_a_batch_whose_only_event_has_a_bad_string_is_422_and_stores_nothing(workspace):
    response = send(batch(workspace, [event(name=LONE_SURROGATE)]))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "index": 0,
            "field": "name",
            "message": "Must be well-formed text (no null character, no lone surrogate).",
        }
    ]
    assert not Event.objects.exists() and not Visitor.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ts": 1e308}, "ts"),
        ({"ts": 10**30}, "ts"),
        ({"props": {"a": NESTED}}, "props"),
    ],
    ids=["ts 1e308", "ts 10**30", "deep"],
)
def test_numbers_and_shapes_no_column_can_hold_are_an_event_error(workspace, extra, field):
    response = send(batch(workspace, [event(**extra), event()]))
    assert response.status_code == 202, response.content
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, field)]
    assert Event.objects.count() == 1


def test_a_public_key_with_a_null_character_is_an_unknown_key(workspace):
    response = send({**batch(workspace, [event()]), "key": "pk_\x00abc"})
    assert response.status_code == 404


def test_a_batch_with_only_bad_events_is_422(workspace):
    response = send(batch(workspace, [event("teleport")]))
    assert response.status_code == 422
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ("not json", 422),
        ([], 422),
        ({"key": "pk_unknown", "events": []}, 404),
    ],
)
def test_malformed_batches(workspace, payload, status):
    from django.test import Client

    body = payload if isinstance(payload, str) else __import__("json").dumps(payload)
    response = Client().post(
        "/e", body, content_type="application/json", headers={"User-Agent": CHROME}
    )
    assert response.status_code == status


def test_too_many_events_or_none(workspace):
    assert send(batch(workspace, [event() for _ in range(101)])).status_code == 422
    assert send(batch(workspace, [])).status_code == 422


def test_bots_are_ignored(workspace):
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    response = send(batch(workspace, [event()]), user_agent=bot)
    assert response.status_code == 202 and response.json()["ignored"] == "bot"
    assert not Event.objects.exists() and not Visitor.objects.exists()


def test_disallowed_origin_is_403(workspace):
    workspace.allowed_origins = [SITE]
    workspace.save()
    assert send(batch(workspace, [event()]), origin="https://evil.example").status_code == 403
    assert send(batch(workspace, [event()])).status_code == 202
    assert Event.objects.count() == 1


def test_privacy_signals_are_respected_when_the_workspace_says_so(workspace):
    assert send(batch(workspace, [event()]), DNT="1").json()["ignored"] == "privacy signal"
    assert send(batch(workspace, [event()]), **{"Sec-GPC": "1"}).status_code == 202
    assert not Event.objects.exists()
    workspace.respect_privacy_signals = False
    workspace.save()
    assert send(batch(workspace, [event()]), DNT="1").json()["accepted"] == 1


def test_rate_limit(workspace, settings):
    settings.LEADFLOW_EVENT_RATE_PER_IP = 2
    statuses = [send(batch(workspace, [event()])).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]


def test_rate_limit_counts_the_visitor_behind_a_trusted_proxy(workspace, settings):
    """Behind the proxy every request comes from its address: the limit must count the
    visitor's (X-Forwarded-For), or one busy site would throttle everyone."""
    settings.LEADFLOW_EVENT_RATE_PER_IP = 1
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    visitors = ["203.0.113.1", "203.0.113.2", "203.0.113.1"]
    statuses = [
        send(batch(workspace, [event()]), **{"X-Forwarded-For": ip}).status_code for ip in visitors
    ]
    assert statuses == [202, 202, 429]


def test_preflight(workspace):
    from django.test import Client

    response = Client().options("/e", headers={"Origin": SITE})
    assert response.status_code == 204 and response["Access-Control-Allow-Origin"] == SITE


def test_off_site_events_by_api(api, workspace):
    response = api.post(
        "/events",
        {
            "visitor_id": "campaign-viewer-1",
            "session_id": "ads-00001",
            "events": [
                event("impression", name="spring-banner"),
                event("share", name="linkedin-post"),
            ],
        },
    )
    assert response.status_code == 202, response.content
    assert set(Event.objects.values_list("event_type", flat=True)) == {"impression", "share"}
    bad = api.post("/events", {"events": [event("teleport")]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].startswith("events[0]")


def test_events_of_another_workspace_stay_there(workspace, other_workspace):
    send(batch(other_workspace, [event()]))
    assert Event.objects.filter(workspace=workspace).count() == 0
    assert Event.objects.filter(workspace=other_workspace).count() == 1
