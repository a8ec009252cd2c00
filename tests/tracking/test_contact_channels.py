"""A contact given a source and medium without a channel (the API, an import, the app) gets
its channel from the same channel rules as a tracked visit (tracking/channels.py and the
workspace's own rules), through the hook tracking registers: contacts never import tracking.
"""

import pytest

from leadflow.contacts.models import Contact
from leadflow.imports.run import import_job_run
from leadflow.imports.services import import_job_create
from leadflow.tracking.services import channel_rule_create


@pytest.fixture
def partner_rule(workspace, owner_actor):
    return channel_rule_create(
        workspace=workspace,
        actor=owner_actor,
        data={"channel": "affiliate", "utm_source": "partner-.*"},
    )


def touches(email: str) -> tuple[str, str]:
    contact = Contact.objects.get(email=email)
    return contact.first_touch_channel, contact.last_touch_channel


def test_a_contact_created_by_api_gets_its_channel_from_the_rules(api, partner_rule):
    contacts = [
        ("ads@initech.com", {"source": "google", "medium": "cpc"}, "paid_search"),
        ("social@initech.com", {"source": "LinkedIn"}, "organic_social"),
        ("news@initech.com", {"source": "newsletter", "medium": "email"}, "email"),
        ("partner@initech.com", {"source": "partner-acme", "medium": "cpc"}, "affiliate"),
        ("show@initech.com", {"source": "Trade show 2026"}, "other"),
    ]
    for email, touch, _ in contacts:
        assert api.post("/contacts", {"email": email, **touch}).status_code == 201
    assert {email: touches(email) for email, _, _ in contacts} == {
        email: (channel, channel) for email, _, channel in contacts
    }
    # A channel the caller gives is kept; a later touch updates the latest one only.
    given = {"email": "given@initech.com", "source": "google", "channel": "display"}
    assert api.post("/contacts", given).status_code == 201
    assert touches("given@initech.com") == ("display", "display")
    api.post("/contacts", {"email": "ads@initech.com", "source": "newsletter", "medium": "email"})
    assert touches("ads@initech.com") == ("paid_search", "email")
    # Without a source or medium there is no touch, and no channel.
    assert api.post("/contacts", {"email": "plain@initech.com"}).status_code == 201
    assert touches("plain@initech.com") == ("", "")


def test_an_imported_contact_gets_its_channel_from_the_rules(
    workspace, owner_actor, partner_rule, tmp_path, settings
):
    settings.DATA_DIR = tmp_path / "data"
    path = tmp_path / "people.csv"
    path.write_text(
        "email,source,medium\n"
        "ads@initech.com,google,cpc\n"
        "partner@initech.com,partner-acme,\n"
        "fair@initech.com,,\n"
    )
    job = import_job_create(
        workspace=workspace,
        actor=owner_actor,
        path=path,
        filename=path.name,
        options={"source": "Trade show 2026"},
    )
    job = import_job_run(job_id=job.pk)
    assert job.created_count == 3, job.error_message if hasattr(job, "error_message") else job
    assert touches("ads@initech.com") == ("paid_search", "paid_search")
    assert touches("partner@initech.com") == ("affiliate", "affiliate")
    # The import's own source fills the rows without one: "Other", as a visit would be.
    assert touches("fair@initech.com") == ("other", "other")
