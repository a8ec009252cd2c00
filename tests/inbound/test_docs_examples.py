"""The examples in docs/inbound.md work as documented: the signed curl body, sent to a
generic source with the guide's mapping, stores its lead."""

import json
import re
from pathlib import Path

from leadflow.contacts.models import Contact
from leadflow.inbound.models import Delivery
from tests.inbound.conftest import leadflow_headers, post

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "inbound.md"


def guide_examples() -> tuple[bytes, dict]:
    """The first example body (the signed curl) and the generic format's mapping."""
    text = GUIDE.read_text()
    body = re.search(r"^body='(.*)'$", text, re.MULTILINE).group(1)
    generic = text[text.index("### Any JSON (format `generic`)") :]
    mapping = re.search(r"```json\n(.*?)\n```", generic, re.DOTALL).group(1)
    return body.encode(), json.loads(mapping)


def test_the_guides_signed_example_is_stored_by_a_generic_source_with_its_mapping(
    make_source, team_size_field
):
    body, mapping = guide_examples()
    source = make_source("generic", mapping=mapping)
    response = post(source, body, leadflow_headers(body, source.secret))
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert contact.email == "ada@example.com"
    assert Delivery.objects.get().external_lead_id == "L-1"
