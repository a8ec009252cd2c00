"""core.publickit: the answers every public endpoint shares, read as a browser script would."""

import json

from django.http import HttpResponse
from django.test import RequestFactory

from leadflow.core.publickit import (
    clip,
    cors,
    site_allowed,
    site_refused,
    too_many_requests,
    utm_clip,
)

SITE = "https://www.acme-widgets.com"


def test_an_allowed_site_may_read_the_answer_and_its_retry_after():
    request = RequestFactory().post("/e", HTTP_ORIGIN=SITE)
    response = cors(HttpResponse(status=204), request)
    assert response["Access-Control-Allow-Origin"] == SITE
    assert response["Access-Control-Expose-Headers"] == "Retry-After"
    assert response["Vary"] == "Origin"


def test_a_refused_site_gets_no_cors_grant_but_caches_still_vary_by_origin():
    request = RequestFactory().post("/f/abc", HTTP_ORIGIN="https://evil.example")
    response = cors(HttpResponse(status=204), request, allowed=False)
    assert "Access-Control-Allow-Origin" not in response
    assert response["Vary"] == "Origin"


def test_the_origin_gate_needs_every_allowlist_and_lets_servers_through():
    assert site_allowed(SITE, [SITE], [])
    assert not site_allowed(SITE, [SITE], ["https://other.example"])
    assert site_allowed("", ["https://other.example"])  # no Origin: not a browser elsewhere
    refused = site_refused("This site may not use this form.")
    assert refused.status_code == 403
    assert json.loads(refused.content)["code"] == "origin_not_allowed"


def test_clipping_never_fails_and_keeps_only_text_and_numbers():
    assert clip("x" * 3000) == "x" * 2000
    assert clip("  padded ", 4, strip=True) == "padd"
    assert clip(42) == "42"
    assert clip({"a": 1}) == "" and clip(["a"]) == "" and clip(None) == ""
    assert utm_clip({"utm_source": "g" * 300, "utm_medium": "", "other": "x"}) == {
        "utm_source": "g" * 200
    }
    assert utm_clip("not a mapping") == {}


def test_a_429_says_when_to_come_back():
    response = too_many_requests("Too many events; try again shortly.", 17)
    assert response.status_code == 429
    assert response["Retry-After"] == "17"
    assert response["Content-Type"] == "application/problem+json"
