"""Property-based fuzzing: no request to a public endpoint, an /api/v1 route or an app list
page answers a server error, however bad its input.

- Every /api/v1 route: schemathesis generates valid and invalid requests from the committed
  schema (docs/api/openapi.json), and also sends the shapes below in its JSON bodies.
- The public endpoints (/f, /lp, /e, /e/popups, /in, /m, /hooks/sms, the messengers'
  /hooks/telegram|whatsapp|messenger): hypothesis strategies
  for their bodies, made of the values that broke them before — NUL characters, lone
  surrogates, JSON nested 50,000 deep, numbers JSON does not have (NaN, 1e400) or no field
  can hold (1e308 ms, 10**40), crafted ids — inside the shapes each endpoint expects, so
  they reach the code behind the parser (the SMS webhooks' posts signed as the provider
  signs them, and unsigned or mis-signed: 403). A refused request writes nothing: no
  download counted, no pop-up counter moved, no text stored.
- App list pages: their query parameters, cursors included.

Bounded for CI (FUZZ_EXAMPLES examples per route, derandomized so a run is repeatable; set
LEADFLOW_FUZZ_EXAMPLES to go further by hand). Runs on SQLite and PostgreSQL like every test.
"""

import base64
import json
import os
import time
from pathlib import Path

import pytest
import requests
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leadflow.capture import services as capture_services
from leadflow.contacts import services as contact_services
from leadflow.contacts.models import Activity, Contact, CustomField
from leadflow.core.models import ALL_API_SCOPES
from leadflow.core.services import apikey_create
from leadflow.inbound import services as inbound_services
from tests.capture.conftest import lead_form_fields

ROOT = Path(__file__).resolve().parent.parent
FUZZ_EXAMPLES = int(os.environ.get("LEADFLOW_FUZZ_EXAMPLES", "25"))
SITE = "https://www.acme-widgets.com"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# 53 routes: a third of the examples each, without schemathesis's coverage phase (its
# boundary cases per parameter took four minutes); LEADFLOW_FUZZ_COVERAGE=1 adds it.
API_SETTINGS = settings(FUZZ_SETTINGS, max_examples=max(1, FUZZ_EXAMPLES // 3))

schema = schemathesis.openapi.from_path(ROOT / "docs" / "api" / "openapi.json")
schema.config.phases.coverage.enabled = bool(os.environ.get("LEADFLOW_FUZZ_COVERAGE"))


# --- the values that broke endpoints before ---------------------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000
bad_text = st.one_of(
    st.sampled_from(
        [
            "",
            "\x00",
            "a\x00b",
            "\ud800",
            "x\udfff",
            "\ud83d\ude00",  # a whole emoji, as a JSON escape pair
            "😀" * 3,
            "\u202e",
            "9" * 400,
            "x" * 5000,
            "1e308",
            "NaN",
            "../../etc/passwd",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
        ]
    ),
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from("a\x00\ud800\udc00é😀 "), max_size=12),
)
bad_number = st.one_of(
    st.sampled_from([0, -1, 2**31, 2**63, 10**40, -(10**40), 1e308, -1e308, 0.5, 1e-300]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalar = st.one_of(st.none(), st.booleans(), bad_number, bad_text)
json_value = st.recursive(
    scalar,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(bad_text, children, max_size=4)
    ),
    max_leaves=12,
)
raw_body = st.sampled_from(
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b'"text"',
        DEEP.encode(),
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": 1e400}',
        b'{"a": 1' + b"0" * 5000 + b"}",
        b"\xff\xfe not utf-8",
        b'{"a": "\x00"}',
        b"\x00",
    ]
)


def quoted(text: str) -> str:
    """Percent-encoded UTF-8, lone surrogates included (as a crafted request sends them)."""
    return requests.utils.quote(text.encode("utf-8", "surrogatepass"), safe="")


def dumps(value) -> bytes:
    """JSON as an attacker sends it: lone surrogates as \\ud800 escapes."""
    return json.dumps(value).encode()


def answer_is_not_a_server_error(response, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}: " + (
        response.content[:500].decode("utf-8", "replace")
    )


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def fuzz_workspace(workspace, owner_actor, settings):
    """A workspace with a little of everything, so generated ids sometimes exist."""
    settings.LEADFLOW_API_RATE_LIMIT = 0
    settings.LEADFLOW_FORM_RATE_PER_IP = 0
    settings.LEADFLOW_FORM_RATE_PER_FORM = 0
    settings.LEADFLOW_EVENT_RATE_PER_IP = 0
    settings.LEADFLOW_INBOUND_RATE_PER_IP = 0
    settings.LEADFLOW_INBOUND_RATE_PER_SOURCE = 0
    CustomField.objects.create(
        workspace=workspace, key="team_size", label="Team size", field_type="number"
    )
    CustomField.objects.create(
        workspace=workspace, key="code", label="Code", field_type="text", pattern="(a+)+b"
    )
    for number in range(1, 4):
        contact_services.contact_upsert(
            workspace=workspace,
            data={"email": f"lead{number}@initech.com", "company": "Initech", "tags": ["vip"]},
            actor=owner_actor,
        )
    form = capture_services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Demo", "fields": lead_form_fields(), "min_fill_seconds": 0},
    )
    source = inbound_services.lead_source_create(
        workspace=workspace,
        data={
            "format": "generic",
            "name": "Partner",
            "mapping": {
                "fields": {
                    "email": "email",
                    "name": "full_name",
                    "phone": "phone",
                    "size": "custom_fields.team_size",
                    "code": "custom_fields.code",
                },
                "lead_id": "id",
            },
        },
        actor=owner_actor,
    )
    return workspace, form, source


@pytest.fixture
def api_secret(fuzz_workspace, owner_actor):
    _, secret = apikey_create(
        workspace=fuzz_workspace[0], name="fuzz", scopes=ALL_API_SCOPES, actor=owner_actor
    )
    return secret


# --- every /api/v1 route ----------------------------------------------------------------------


def send_case(case, secret: str):
    """Send a schemathesis case through Django's test client (in the test's transaction)."""
    kwargs = case.as_transport_kwargs(
        base_url="http://testserver", headers={"Authorization": f"Bearer {secret}"}
    )
    kwargs.pop("cookies", None)
    prepared = requests.Request(**kwargs).prepare()
    headers = {
        name: value
        for name, value in prepared.headers.items()
        if name.lower() not in {"content-type", "content-length", "host"}
    }
    body = prepared.body or b""
    client = Client(raise_request_exception=False)
    return client.generic(
        prepared.method,
        prepared.path_url,
        data=body.encode() if isinstance(body, str) else body,
        content_type=prepared.headers.get("Content-Type", ""),
        headers=headers,
    )


@schema.parametrize()
@API_SETTINGS
def test_no_api_route_answers_a_server_error(case, api_secret):
    response = send_case(case, api_secret)
    answer_is_not_a_server_error(response, f"{case.method} {case.formatted_path}")
    if response.status_code >= 400 and response.status_code != 405:  # 405: Django's routing
        assert response["Content-Type"] == "application/problem+json", case.formatted_path


# --- the public endpoints ---------------------------------------------------------------------

FORM_FIELD_NAMES = [field["name"] for field in lead_form_fields()]
field_name = st.one_of(st.sampled_from(FORM_FIELD_NAMES), bad_text)
uuid_like = st.one_of(st.uuids().map(str), bad_text, bad_number, st.none())
form_context = st.fixed_dictionaries(
    {},
    optional={
        "page_url": scalar,
        "referrer": scalar,
        "visitor_id": scalar,
        "utm": st.one_of(
            st.dictionaries(st.sampled_from(["utm_source", "utm_medium"]), scalar), scalar
        ),
    },
)
form_body = st.one_of(
    st.fixed_dictionaries(
        {"fields": st.dictionaries(field_name, json_value, max_size=6)},
        optional={
            "submission_id": uuid_like,
            "context": st.one_of(form_context, scalar),
            "token": scalar,
            "pow": scalar,
        },
    ).map(dumps),
    json_value.map(dumps),
    raw_body,
)
form_post = st.dictionaries(
    st.one_of(st.sampled_from([*FORM_FIELD_NAMES, "_lf_submission_id", "_lf_t"]), bad_text),
    bad_text,
    max_size=6,
)


@FUZZ_SETTINGS
@given(body=form_body)
@example(body=DEEP.encode())
@example(body=b'{"fields": {"team_size": NaN}}')
@example(body=dumps({"fields": {"first_name": "a\x00b"}, "context": {"page_url": "\ud800"}}))
def test_no_form_submission_answers_a_server_error(fuzz_workspace, body):
    _, form, _ = fuzz_workspace
    response = Client(raise_request_exception=False).post(
        f"/f/{form.key}", body, content_type="application/json", headers={"Origin": SITE}
    )
    answer_is_not_a_server_error(response, f"POST /f JSON {body[:200]!r}")


@FUZZ_SETTINGS
@given(data=form_post, key=st.one_of(st.just(None), bad_text))
@example(data={"email": "jane@initech.com", "first_name": "Ja\x00ne"}, key=None)
@example(data={}, key="\x00")
def test_no_plain_html_form_post_answers_a_server_error(fuzz_workspace, data, key):
    _, form, _ = fuzz_workspace
    client = Client(raise_request_exception=False)
    path = f"/f/{form.key if key is None else quoted(key)}"
    body = "&".join(f"{quoted(name)}={quoted(value)}" for name, value in data.items())
    response = client.post(path, body, content_type="application/x-www-form-urlencoded")
    answer_is_not_a_server_error(response, f"POST {path} {data!r}")
    answer_is_not_a_server_error(client.get(f"{path}?embed=1"), f"GET {path}")


@pytest.fixture
def fuzz_page(fuzz_workspace, owner_actor):
    """A published landing page with two variants on the fuzz workspace's form."""
    from leadflow.pages import services as page_services

    workspace, form, _ = fuzz_workspace
    page = page_services.page_create(
        workspace=workspace, actor=owner_actor, data={"name": "P", "slug": "p", "form_id": form.pk}
    )
    page_services.variant_create(workspace=workspace, page_id=page.pk, actor=owner_actor)
    page_services.page_publish(
        workspace=workspace, page_id=page.pk, actor=owner_actor, base_url="http://testserver"
    )
    return f"/lp/{workspace.slug}/p/", page.variants.first().pk


@FUZZ_SETTINGS
@given(body=form_body, variant=st.one_of(st.none(), json_value), data=form_post)
@example(
    body=dumps({"fields": {"email": "a@initech.com"}}), variant=None, data={"_lf_variant": "1e400"}
)
def test_no_landing_page_submission_answers_a_server_error(fuzz_page, body, variant, data):
    path, variant_id = fuzz_page
    client = Client(raise_request_exception=False)
    try:  # a real variant when none is drawn, so the whole path runs
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        body = dumps({**parsed, "variant": variant_id if variant is None else variant})
    data = {"_lf_variant": str(variant_id), **data}
    response = client.post(path + "submit", body, content_type="application/json")
    answer_is_not_a_server_error(response, f"POST {path}submit JSON {body[:200]!r}")
    form = "&".join(f"{quoted(name)}={quoted(value)}" for name, value in data.items())
    response = client.post(path + "submit", form, content_type="application/x-www-form-urlencoded")
    answer_is_not_a_server_error(response, f"POST {path}submit {data!r}")
    answer_is_not_a_server_error(client.get(path), f"GET {path}")


def event_strategy():
    now_ms = int(time.time() * 1000)
    return st.fixed_dictionaries(
        {
            "id": st.one_of(st.uuids().map(str), uuid_like),
            "type": st.one_of(
                st.sampled_from(["pageview", "click", "identify", "form_view"]), scalar
            ),
            "ts": st.one_of(st.just(now_ms), bad_number, bad_text),
        },
        optional={
            "url": scalar,
            "name": scalar,
            "referrer": scalar,
            "props": json_value,
            "visitor_id": scalar,
            "session_id": scalar,
            "session": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "landing_page": scalar,
                        "referrer": scalar,
                        "utm": json_value,
                        "click_ids": json_value,
                    },
                ),
                scalar,
            ),
        },
    )


@FUZZ_SETTINGS
@given(data=st.data())
@example(data=None)
def test_no_event_batch_answers_a_server_error(fuzz_workspace, data):
    workspace = fuzz_workspace[0]
    batch = (
        DEEP.encode()
        if data is None
        else data.draw(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "key": st.one_of(st.just(workspace.public_key), scalar),
                        "events": st.one_of(st.lists(event_strategy(), max_size=4), json_value),
                    },
                    optional={"visitor_id": scalar, "session_id": scalar},
                ).map(dumps),
                raw_body,
            )
        )
    )
    response = Client(raise_request_exception=False).post(
        "/e", batch, content_type="text/plain", headers={"Origin": SITE, "User-Agent": CHROME}
    )
    answer_is_not_a_server_error(response, f"POST /e {batch[:300]!r}")


inbound_body = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "id": scalar,
            "email": st.one_of(st.just("lead@initech.com"), scalar),
            "name": scalar,
            "phone": scalar,
            "size": scalar,
            "code": st.one_of(st.just("a" * 40), scalar),
        },
    ).map(dumps),
    json_value.map(dumps),
    raw_body,
)


@FUZZ_SETTINGS
@given(body=inbound_body)
@example(body=DEEP.encode())
@example(body=b'{"email": "lead@initech.com", "name": "\\ud800"}')
def test_no_webhook_delivery_answers_a_server_error(fuzz_workspace, body):
    import hashlib
    import hmac

    source = fuzz_workspace[2]
    signature = hmac.new(source.secret.encode(), body, hashlib.sha256).hexdigest()
    response = Client(raise_request_exception=False).post(
        f"/in/{source.key}",
        body,
        content_type="application/json",
        headers={"X-LeadFlow-Signature": f"sha256={signature}"},
    )
    answer_is_not_a_server_error(response, f"POST /in {body[:300]!r}")


# --- lead magnets' links, pop-ups, SMS webhooks -----------------------------------------------


@pytest.fixture
def fuzz_magnet(fuzz_workspace, owner_actor):
    """An external-link magnet with one lead's grant, and that grant's signed link."""
    from leadflow.capture import magnet_links, magnets

    workspace = fuzz_workspace[0]
    magnet = magnets.magnet_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Guide", "kind": "url", "url": "https://www.acme-widgets.com/guide"},
    )
    contact = Contact.objects.filter(workspace=workspace).order_by("pk").first()
    grant = magnets.magnet_grant(magnet=magnet, contact_id=contact.pk, submission_id=None)
    return magnet, grant, magnet_links.magnet_token(grant)


def _grant_state(grant) -> tuple:
    grant.refresh_from_db()
    return grant.downloads, grant.link_downloads, grant.link_serial


@FUZZ_SETTINGS
@given(
    key=st.one_of(st.none(), bad_text), token=st.one_of(st.none(), bad_text), cut=st.integers(0, 8)
)
@example(key=None, token="\x00", cut=0)
@example(key="\ud800", token=None, cut=0)
@example(key="x" * 5000, token="9" * 400, cut=0)
def test_no_magnet_link_answers_a_server_error(fuzz_magnet, key, token, cut):
    """A link with its key or token altered, cut or replaced: never a 5xx, and a refused
    link counts no download."""
    magnet, grant, real = fuzz_magnet
    before = _grant_state(grant)
    token = (real[: len(real) - cut] if cut else real) if token is None else token
    path = f"/m/{quoted(magnet.key if key is None else key)}/{quoted(token)}/"
    client = Client(raise_request_exception=False)
    response = client.get(path)
    answer_is_not_a_server_error(response, f"GET {path}")
    answer_is_not_a_server_error(client.head(path), f"HEAD {path}")
    if response.status_code >= 400:
        assert _grant_state(grant) == before, path


@FUZZ_SETTINGS
@given(
    key=st.one_of(st.none(), bad_text),
    data=st.dictionaries(st.sampled_from(["token", "email", "x"]) | bad_text, bad_text, max_size=3),
    raw=st.one_of(st.none(), raw_body),
)
@example(key=None, data={"email": "lead1@initech.com\x00"}, raw=None)
@example(key=None, data={"email": "\ud800@initech.com", "token": "\ud800"}, raw=None)
@example(key=None, data={}, raw=DEEP.encode())
def test_no_magnet_renewal_answers_a_server_error(fuzz_magnet, key, data, raw):
    """The fresh-link form (url-encoded, or anything else in its body): never a 5xx."""
    from django.core.cache import cache

    cache.clear()  # its per-IP limit would soon answer every example with 429
    magnet = fuzz_magnet[0]
    path = f"/m/{quoted(magnet.key if key is None else key)}/renew"
    client = Client(raise_request_exception=False)
    if raw is None:
        body = "&".join(f"{quoted(name)}={quoted(value)}" for name, value in data.items())
        response = client.post(path, body, content_type="application/x-www-form-urlencoded")
    else:
        response = client.post(path, raw, content_type="application/json")
    answer_is_not_a_server_error(response, f"POST {path} {data!r} {raw and raw[:100]!r}")


@pytest.fixture
def fuzz_popup(fuzz_workspace, owner_actor):
    from leadflow.capture.popups import services as popup_services

    workspace, form, _ = fuzz_workspace
    return popup_services.popup_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Offer", "title": "The guide", "status": "active", "form_id": form.pk},
    )


def _counters(popup) -> tuple:
    popup.refresh_from_db()
    return popup.views, popup.closes, popup.conversions


POPUP_PARAMS = ["key", "v", "us", "um", "uc", "ck", "r", "s"]


@FUZZ_SETTINGS
@given(query=st.dictionaries(st.sampled_from(POPUP_PARAMS) | bad_text, bad_text, max_size=5))
@example(query={"key": "pk_\x00", "v": "\ud800"})
@example(query={"ck": "gclid," * 2000, "r": "x" * 5000})
def test_no_popup_config_answers_a_server_error(fuzz_popup, query):
    workspace = fuzz_popup.workspace
    query = {"key": workspace.public_key, **query} if "key" not in query else query
    params = "&".join(f"{quoted(name)}={quoted(value)}" for name, value in query.items())
    response = Client(raise_request_exception=False).get(
        f"/e/popups?{params}", headers={"Origin": SITE}
    )
    answer_is_not_a_server_error(response, f"GET /e/popups?{params[:300]}")


@FUZZ_SETTINGS
@given(
    key=st.one_of(st.none(), scalar),
    popup=st.one_of(st.none(), bad_number, json_value),
    kind=st.one_of(st.sampled_from(["view", "close", "conversion"]), scalar),
    other=st.one_of(st.none(), json_value.map(dumps), raw_body),
)
@example(key=None, popup=None, kind="view", other=DEEP.encode())
@example(key=None, popup=2**63, kind="view", other=None)
@example(key="pk_\x00", popup=None, kind="conversion", other=None)
def test_no_popup_event_answers_a_server_error(fuzz_popup, key, popup, kind, other):
    """A view, close or conversion beacon however bad (None: the real key or pop-up; other:
    a body of another shape): never a 5xx, and only a 204 counts."""
    before = _counters(fuzz_popup)
    body = (
        other
        if other is not None
        else dumps(
            {
                "key": fuzz_popup.workspace.public_key if key is None else key,
                "popup": fuzz_popup.pk if popup is None else popup,
                "type": kind,
            }
        )
    )
    response = Client(raise_request_exception=False).post(
        "/e/popups/event", body, content_type="text/plain", headers={"Origin": SITE}
    )
    answer_is_not_a_server_error(response, f"POST /e/popups/event {body[:300]!r}")
    if response.status_code != 204:
        assert _counters(fuzz_popup) == before, body[:300]


SMS_TOKEN = "fuzz-token"
SMS_PARAMS = [
    "MessageSid",
    "SmsSid",
    "AccountSid",
    "From",
    "To",
    "Body",
    "MessageStatus",
    "ErrorCode",
]


@pytest.fixture
def fuzz_sms(fuzz_workspace, monkeypatch):
    """The workspace's SMS provider set up, its auth token in the environment; the
    webhooks' token."""
    from leadflow.core.secrets import secret_name_base
    from leadflow.nurture.models.sms import TOKEN_ENV_PREFIX
    from leadflow.nurture.services.sms import sms_settings_save
    from leadflow.nurture.services.sms_inbound import sms_webhook_token

    workspace = fuzz_workspace[0]
    token_env = secret_name_base(workspace.pk, TOKEN_ENV_PREFIX) + "_FUZZ"
    monkeypatch.setenv(token_env, SMS_TOKEN)
    sms_settings_save(
        workspace=workspace,
        data={
            "api_base": "http://127.0.0.1:9",
            "account_sid": "AC123",
            "from_number": "+14155550100",
            "token_env": token_env,
        },
        base_url="",
    )
    return workspace, sms_webhook_token(workspace.pk)


def _sms_rows() -> tuple:
    from leadflow.nurture.models import SmsInbound, SmsSuppression

    return (
        SmsInbound.objects.count(),
        SmsSuppression.objects.count(),
        Activity.objects.count(),
    )


@FUZZ_SETTINGS
@given(
    hook=st.sampled_from(["in", "status"]),
    token=st.one_of(st.none(), bad_text),
    params=st.dictionaries(
        st.sampled_from(SMS_PARAMS) | bad_text,
        st.one_of(st.sampled_from(["SM0001", "AC123", "+14155550134", "delivered"]), bad_text),
        max_size=6,
    ),
    sign=st.sampled_from(["valid", "none", "wrong", "other params"]),
    delivery=st.one_of(st.none(), bad_text),
)
@example(
    hook="in",
    token=None,
    params={"MessageSid": "SM0001", "From": "+14155550134", "Body": "STOP\ud800"},
    sign="valid",
    delivery=None,
)
@example(hook="in", token=None, params={"From": "\x00"}, sign="valid", delivery=None)
@example(hook="status", token=None, params={"MessageSid": "SM1"}, sign="valid", delivery="9" * 40)
@example(hook="in", token="\ud800", params={}, sign="none", delivery=None)
def test_no_sms_webhook_answers_a_server_error(fuzz_sms, hook, token, params, sign, delivery):
    """The provider's posts, signed or not: never a 5xx; a post whose signature does not
    match is 403 (or 400 for text no database stores, 404 for a made-up token) and a
    refused post writes nothing."""
    from django.http import QueryDict

    from leadflow.nurture.services.sms_inbound import sms_signature

    _, real_token = fuzz_sms
    path = f"/hooks/sms/{quoted(real_token if token is None else token)}/{hook}/"
    if delivery is not None:
        path += f"?delivery={quoted(delivery)}"
    body = "&".join(f"{quoted(name)}={quoted(value)}" for name, value in params.items())
    seen = {name: values for name, values in QueryDict(body).lists()}  # as the server reads it
    url = "http://testserver" + path  # what the server signs: the address as sent
    signature = {
        "valid": lambda: sms_signature(SMS_TOKEN, url, seen),
        "none": lambda: "",
        "wrong": lambda: sms_signature("not-the-token", url, seen),
        "other params": lambda: sms_signature(SMS_TOKEN, url, {**seen, "x": ["1"]}),
    }[sign]()
    before = _sms_rows()
    response = Client(raise_request_exception=False).post(
        path,
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )
    answer_is_not_a_server_error(response, f"POST {path} {params!r} ({sign})")
    if sign != "valid" and response.status_code not in {400, 404}:
        assert response.status_code == 403, (path, params, sign, response.status_code)
    if sign == "valid" and token is None and response.status_code == 403:  # signed right:
        assert seen.get("AccountSid", [""])[-1].strip() not in {"", "AC123"}  # another account
    if response.status_code >= 400:
        assert _sms_rows() == before, (path, params, sign)


# --- app list pages ---------------------------------------------------------------------------

LIST_PAGES = [
    "contacts/",
    "companies/",
    "forms/",
    "duplicates/",
    "visitors/",
    "reports/sources/",
    "contacts/imports/",
    "settings/audit/",
    "settings/lead-sources/",
    "forms/{form}/submissions/",
    "settings/lead-sources/{source}/",
    "contacts/{contact}/",
    "",  # the home
    "my-leads/",
    "my-leads/poll/",
    "queue/",
    "followups/",
    "notifications/",
    "reports/speed-to-lead/",
    "deals/",
    "deals/board/",
    "deals/forecast/",
    "settings/routing/",
    "settings/deals/",
]
crafted_cursor = st.one_of(
    bad_text,
    st.tuples(json_value, json_value).map(
        lambda pair: base64.urlsafe_b64encode(dumps(list(pair))).decode().rstrip("=")
    ),
)
list_query = st.dictionaries(
    st.sampled_from(
        [
            "cursor",
            "q",
            "sort",
            "stage",
            "owner",
            "company",
            "tag",
            "temperature",
            "created_after",
            "created_before",
            "custom.team_size",
            "custom.code",
            "period",
            "start",
            "end",
            "tab",
            "status",
            "before",
            "page",
            "since",
            "until",
            "import",
            "group",
            "tz",
            "due",
            "range",
            "from",
            "to",
            "team",
            "pipeline",
            "close_month",
            "assignee",
            "stage_id",
        ]
    ),
    st.one_of(crafted_cursor, bad_number.map(str)),
    max_size=4,
)


@settings(FUZZ_SETTINGS, max_examples=FUZZ_EXAMPLES * 6)  # 24 pages, each request cheap
@given(page=st.sampled_from(LIST_PAGES), query=list_query)
@example(page="contacts/", query={"company": "\u00b2"})
@example(page="contacts/", query={"q": "\x00"})
@example(page="companies/", query={"cursor": "WyJhIiwgImIiXQ"})
@example(page="reports/speed-to-lead/", query={"tz": "\x00", "group": "\ud800"})
@example(page="followups/", query={"due": "\x00", "assignee": "99999999999999999999999"})
@example(page="deals/", query={"close_month": "2026-99", "pipeline": "1e400"})
@example(page="my-leads/poll/", query={"since": "\ud800"})
def test_no_app_list_page_answers_a_server_error(fuzz_workspace, owner, page, query):
    workspace, form, source = fuzz_workspace
    contact = Contact.objects.filter(workspace=workspace).order_by("pk").first()
    page = page.format(form=form.pk, source=source.pk, contact=contact.pk)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    params = "&".join(f"{name}={quoted(value)}" for name, value in query.items())
    response = client.get(f"/w/{workspace.slug}/{page}?{params}")
    answer_is_not_a_server_error(response, f"GET {page}?{params}")


@pytest.fixture
def fuzz_chat(fuzz_workspace, owner_actor):
    """A published chat flow (an email question, then the end) and a conversation in it."""
    from leadflow.chat import services as chat_services

    workspace, _, _ = fuzz_workspace
    graph = {
        "start": "email",
        "steps": [
            {"id": "email", "kind": "question", "text": "Email?", "input": "email",
             "field": "email", "next": "bye"},
            {"id": "bye", "kind": "end", "text": "Thanks"},
        ],
    }  # fmt: skip
    flow = chat_services.flow_create(
        workspace=workspace, actor=owner_actor, data={"name": "Bot", "graph": graph}
    )
    chat_services.flow_publish(workspace=workspace, flow_id=flow.pk, actor=owner_actor)
    return workspace, chat_services.conversation_start(workspace=workspace)


CHAT_START = ["key", "page_url", "visitor_id", "flow", "token", "consent"]
CHAT_MESSAGE = ["key", "token", "text", "client_id"]
CHAT_HANDOVER = ["email", "rating", "comment"]  # and client_id: the inbox's endpoints


@FUZZ_SETTINGS
@given(
    path=st.sampled_from(["start", "message", "handover", "email", "rate", "transcript"]),
    changes=st.dictionaries(
        st.sampled_from(CHAT_MESSAGE + CHAT_START + CHAT_HANDOVER), json_value, max_size=3
    ),
    other=st.one_of(st.none(), raw_body),
)
@example(path="message", changes={"text": "\x00"}, other=None)
@example(path="message", changes={"client_id": 2**63, "text": None}, other=None)
@example(path="start", changes={"flow": 10**40, "visitor_id": "\ud800"}, other=None)
@example(path="start", changes={}, other=DEEP.encode())
@example(path="rate", changes={"rating": 2**70, "comment": {"a": 1}}, other=None)
@example(path="email", changes={"email": "\ud800@x.com"}, other=None)
def test_no_chat_post_answers_a_server_error(fuzz_chat, path, changes, other):
    """The widget's start, message, "Talk to a person", email, rating and transcript however
    bad (the real key and token unless changed; other: a body of another shape): never a
    5xx, and a refused message stores nothing."""
    from leadflow.chat.models import Message

    workspace, started = fuzz_chat
    body = {"key": workspace.public_key, "token": started.token}
    if path == "message":
        body |= {"text": "hello", "client_id": "fuzz-client-0001"}
    before = Message.objects.count()
    sent = other if other is not None else dumps(body | changes)
    response = Client(raise_request_exception=False).post(
        f"/e/chat/{path}", sent, content_type="application/json", headers={"Origin": SITE}
    )
    answer_is_not_a_server_error(response, f"POST /e/chat/{path} {sent[:300]!r}")
    if path == "message" and response.status_code >= 400:
        assert Message.objects.count() == before, sent[:300]


@FUZZ_SETTINGS
@given(query=st.dictionaries(st.sampled_from(["key", "token", "after"]), bad_text, max_size=3))
@example(query={"after": "9" * 40})
@example(query={"token": "\x00", "after": "-1"})
def test_no_chat_poll_answers_a_server_error(fuzz_chat, query):
    workspace, started = fuzz_chat
    query = {"key": workspace.public_key, "token": started.token, **query}
    params = "&".join(f"{quoted(name)}={quoted(value)}" for name, value in query.items())
    response = Client(raise_request_exception=False).get(
        f"/e/chat/messages?{params}", headers={"Origin": SITE}
    )
    answer_is_not_a_server_error(response, f"GET /e/chat/messages?{params[:300]}")


@FUZZ_SETTINGS
@given(query=st.dictionaries(st.sampled_from(["key", "page_url"]), bad_text, max_size=2))
@example(query={"page_url": "http://[::1"})
def test_no_chat_config_answers_a_server_error(fuzz_chat, query):
    """The launcher's settings for a page however bad the page's address."""
    workspace, _ = fuzz_chat
    query = {"key": workspace.public_key, **query}
    params = "&".join(f"{quoted(name)}={quoted(value)}" for name, value in query.items())
    response = Client(raise_request_exception=False).get(
        f"/e/chat/config?{params}", headers={"Origin": SITE}
    )
    answer_is_not_a_server_error(response, f"GET /e/chat/config?{params[:300]}")


# --- messenger webhooks (docs/chat/messengers.md) -----------------------------------------------

MESSENGER_SECRET = "fuzz-app-secret"
MESSENGER_FIXTURES = ROOT / "tests" / "chat" / "fixtures" / "messengers"


@pytest.fixture
def fuzz_channels(fuzz_chat, owner_actor, monkeypatch):
    """A Telegram, a WhatsApp and a Messenger channel running the fuzz flow, their secrets
    in the environment (nothing is sent: the delivery tasks wait in the queue)."""
    from leadflow.chat.models import Flow
    from leadflow.chat.models.channels import SECRET_ENV_PREFIX
    from leadflow.chat.services.channels import channel_create
    from leadflow.core.secrets import secret_name_base

    workspace, _ = fuzz_chat
    secret_env = secret_name_base(workspace.pk, SECRET_ENV_PREFIX) + "_FUZZ"
    monkeypatch.setenv(secret_env, MESSENGER_SECRET)
    flow = Flow.objects.get(workspace=workspace, name="Bot")
    return {
        kind: channel_create(
            workspace=workspace,
            actor=owner_actor,
            data={
                "kind": kind,
                "name": kind,
                "flow": flow.pk,
                "token_env": secret_env,
                "app_secret_env": secret_env,
                "account_id": "" if kind == "telegram" else "106540352242922",
            },
        )
        for kind in ("telegram", "whatsapp", "messenger")
    }


def _leaves(value, path=()):
    """Every path to a value inside a JSON document."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))


def _replaced(document, path, value):
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


@FUZZ_SETTINGS
@given(
    data=st.data(),
    kind=st.sampled_from(["telegram", "whatsapp", "messenger"]),
    sign=st.sampled_from(["valid", "valid", "none", "wrong"]),
    other=st.one_of(st.none(), st.none(), raw_body),
)
def test_no_messenger_webhook_answers_a_server_error(fuzz_channels, data, kind, sign, other):
    """The platforms' posts, real-shaped with one value replaced by a bad one (or a body of
    another shape), proved or not: never a 5xx; an unproved post is 403 and writes
    nothing."""
    from leadflow.chat.channel_platforms import meta_signature
    from leadflow.chat.models import Message
    from leadflow.chat.services.channels import channel_telegram_secret

    channel = fuzz_channels[kind]
    names = sorted(path.name for path in MESSENGER_FIXTURES.glob(f"{kind}_*.json"))
    template = json.loads((MESSENGER_FIXTURES / data.draw(st.sampled_from(names))).read_text())
    path = data.draw(st.sampled_from(list(_leaves(template))))
    raw = other if other is not None else dumps(_replaced(template, path, data.draw(json_value)))
    if kind == "telegram":
        secret = channel_telegram_secret(channel)
        proof = {"valid": secret, "none": "", "wrong": secret[:-1] + "0"}[sign]
        headers = {"X-Telegram-Bot-Api-Secret-Token": proof}
    else:
        good = meta_signature(MESSENGER_SECRET, raw)
        proof = {"valid": good, "none": "", "wrong": meta_signature("other", raw)}[sign]
        headers = {"X-Hub-Signature-256": proof}
    before = Message.objects.count()
    response = Client(raise_request_exception=False).post(
        f"/hooks/{kind}/{channel.webhook_token}/",
        raw,
        content_type="application/json",
        headers=headers,
    )
    answer_is_not_a_server_error(response, f"POST /hooks/{kind}/ {raw[:300]!r} ({sign})")
    if sign != "valid":
        assert response.status_code == 403
        assert Message.objects.count() == before
