"""The product and meeting steps in the flow editor (labelled inputs, a saved step reads
back into the same form, an error shown inline on the step's field) and through the API
(422 naming the step and the field)."""

import re

import pytest

from leadflow.chat.models import Flow
from tests.chat.test_flows_app import _post_flow, owner_client  # noqa: F401
from tests.deals.conftest import make_product  # noqa: F401

pytestmark = pytest.mark.django_db


def steps(product_id, member_id) -> list[dict[str, str]]:
    return [
        {"id": "email", "kind": "question", "text": "Your email?", "input": "email",
         "field": "email", "next": "kite"},
        {"id": "kite", "kind": "product", "text": "Our kite", "product": str(product_id),
         "buy_label": "Buy it", "decline_label": "", "paid_text": "", "paid": "meet",
         "next": "bye"},
        {"id": "meet", "kind": "meeting", "text": "", "member": str(member_id),
         "duration": "30", "days": "7", "next": "bye"},
        {"id": "bye", "kind": "end", "text": "Thanks"},
    ]  # fmt: skip


def test_product_and_meeting_steps_are_built_in_the_editor_and_read_back(
    workspace,
    owner_client,  # noqa: F811
    owner,
    make_product,  # noqa: F811
):
    kite = make_product(name="Kite", price="99.00")
    html = _post_flow(owner_client, workspace, [], add="1", add_kind="product").content.decode()
    assert 'name="steps-0-product"' in html and "Kite · 99.00 EUR" in html
    html = _post_flow(owner_client, workspace, [], add="1", add_kind="meeting").content.decode()
    for name in ("member", "duration", "days"):
        assert f'name="steps-0-{name}"' in html
    labels = re.findall(r'<label for="([^"]+)"', html)
    assert len(labels) == len(set(labels))
    for field_id in labels:  # every label names an input on the page
        assert f'id="{field_id}"' in html

    created = _post_flow(owner_client, workspace, steps(kite.pk, owner.pk))
    assert created.status_code == 302, created.content.decode()[:3000]
    graph = Flow.objects.get(workspace=workspace).draft
    assert graph["steps"][1] == {
        "id": "kite", "kind": "product", "product": kite.pk, "text": "Our kite",
        "buy_label": "Buy it", "paid": "meet", "next": "bye",
    }  # fmt: skip
    assert graph["steps"][2] == {
        "id": "meet", "kind": "meeting", "member": owner.pk, "duration": 30, "days": 7,
        "text": "", "next": "bye",
    }  # fmt: skip
    from leadflow.web.views.chat import _step_form, _step_read

    assert [_step_read(_step_form(step)) for step in graph["steps"]] == graph["steps"]


def test_a_bad_product_or_meeting_step_is_shown_on_its_field(
    workspace,
    owner_client,  # noqa: F811
    owner,
    make_product,  # noqa: F811
):
    kite = make_product(name="Kite")
    bad = steps(kite.pk, owner.pk)
    bad[1]["product"] = ""
    bad[2]["days"] = "90"
    response = _post_flow(owner_client, workspace, bad)
    assert response.status_code == 422
    body = response.content.decode()
    assert "Step kite: choose a product." in body
    assert "Step meet: 1 to 60 days ahead." in body
    assert not Flow.objects.exists()
    # Without the email question first, the product step itself says why.
    response = _post_flow(owner_client, workspace, steps(kite.pk, owner.pk)[1:])
    assert "Step kite needs the visitor&#x27;s email" in response.content.decode()


def test_the_api_answers_422_naming_the_step_and_the_field(workspace, api, owner, make_product):  # noqa: F811
    kite = make_product(name="Kite")
    graph = {
        "start": "email",
        "steps": [
            {"id": "email", "kind": "question", "text": "Email?", "input": "email",
             "field": "email", "next": "kite"},
            {"id": "kite", "kind": "product", "product": kite.pk + 1000, "next": "meet"},
            {"id": "meet", "kind": "meeting", "duration": 25, "days": 3, "next": "bye"},
            {"id": "bye", "kind": "end"},
        ],
    }  # fmt: skip
    response = api.post("/chat/flows", {"name": "Shop", "graph": graph})
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors["graph.steps[1].product"] == "Step kite: not an offered product here."
    assert errors["graph.steps[2].duration"].startswith("Step meet: a length of")
