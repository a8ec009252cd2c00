"""What a merge keeps when nobody chooses: never a downgrade of the lead (docs/lifecycle.md,
docs/architecture.md#merge). The API and the merge page use the same defaults."""

import datetime as dt

import pytest
from django.utils import timezone

from leadflow.contacts import services
from leadflow.contacts.models import ConsentStatus, Contact, LifecycleStage, Temperature
from leadflow.core.actors import Actor


def person(workspace, email: str, *, updated_days_ago: int, **fields) -> Contact:
    """A contact with the given fields, last updated ``updated_days_ago`` days ago."""
    contact = services.contact_upsert(
        workspace=workspace, data={"email": email, "first_name": "Ann"}, actor=Actor.system()
    ).contact
    updated = timezone.now() - dt.timedelta(days=updated_days_ago)
    Contact.objects.filter(pk=contact.pk).update(updated_at=updated, **fields)
    contact.refresh_from_db()
    return contact


@pytest.fixture
def older_mql_and_newer_lead(workspace):
    """The classic case: the qualified record is older, a newer duplicate came in as a
    plain lead without consent."""
    mql = person(
        workspace,
        "ann@initech.com",
        updated_days_ago=30,
        lifecycle_stage="mql",
        consent_status="granted",
        job_title="Head of Ops",
    )
    lead = person(
        workspace,
        "ann.lee@gmail.com",
        updated_days_ago=1,
        lifecycle_stage="lead",
        consent_status="unknown",
        job_title="",
    )
    return mql, lead


@pytest.mark.parametrize("keep", ["mql", "lead"])
def test_a_merge_without_choices_keeps_the_furthest_stage_and_the_strongest_consent(
    workspace, owner_actor, older_mql_and_newer_lead, keep
):
    mql, lead = older_mql_and_newer_lead
    primary, secondary = (mql, lead) if keep == "mql" else (lead, mql)
    merged = services.contact_merge(
        workspace=workspace, primary_id=primary.pk, secondary_id=secondary.pk, actor=owner_actor
    )
    assert merged.lifecycle_stage == "mql"
    assert merged.consent_status == "granted"
    assert merged.job_title == "Head of Ops"  # a value wins over an empty one
    assert merged.email == lead.email  # otherwise the newer record's value


def test_the_api_merge_without_choices_uses_the_same_defaults(
    api, workspace, older_mql_and_newer_lead
):
    mql, lead = older_mql_and_newer_lead
    response = api.post(f"/contacts/{lead.pk}/merge", {"other_id": mql.pk})
    assert response.status_code == 200, response.content
    assert response.json()["lifecycle_stage"] == "mql"
    assert response.json()["consent_status"] == "granted"


def test_explicit_choices_still_win_over_the_defaults(
    workspace, owner_actor, older_mql_and_newer_lead
):
    mql, lead = older_mql_and_newer_lead
    merged = services.contact_merge(
        workspace=workspace,
        primary_id=mql.pk,
        secondary_id=lead.pk,
        actor=owner_actor,
        choices={"lifecycle_stage": "secondary", "consent_status": "secondary"},
    )
    assert (merged.lifecycle_stage, merged.consent_status) == ("lead", "unknown")


@pytest.mark.parametrize(
    ("one", "other", "kept"),
    [
        ("lead", "customer", "customer"),
        ("sql", "opportunity", "opportunity"),
        ("lead", "disqualified", "disqualified"),  # a person's decision beats a form's stage
        ("subscriber", "nurture", "nurture"),
        ("nurture", "disqualified", "disqualified"),
        ("disqualified", "mql", "mql"),  # qualification and sales progress go further
        ("nurture", "customer", "customer"),
    ],
)
def test_the_furthest_stage(one, other, kept):
    assert LifecycleStage.furthest(one, other) == kept
    assert LifecycleStage.furthest(other, one) == kept


@pytest.mark.parametrize(
    ("one", "other", "kept"),
    [
        ("unknown", "granted", "granted"),
        ("granted", "confirmed", "confirmed"),
        ("confirmed", "withdrawn", "withdrawn"),  # a merge never opts anyone back in
        ("unknown", "withdrawn", "withdrawn"),
    ],
)
def test_the_strongest_consent(one, other, kept):
    assert ConsentStatus.strongest(one, other) == kept
    assert ConsentStatus.strongest(other, one) == kept


@pytest.mark.parametrize(
    ("one", "other", "kept"),
    [
        ("cold", "hot", "hot"),
        ("warm", "cold", "warm"),
        ("hot", "warm", "hot"),
        ("", "warm", "warm"),
    ],
)
def test_the_hottest_temperature(one, other, kept):
    assert Temperature.hottest(one, other) == kept
    assert Temperature.hottest(other, one) == kept


@pytest.mark.parametrize("keep", ["hot", "cold"])
def test_a_merge_without_choices_keeps_the_hotter_temperature_even_when_it_is_older(
    workspace, owner_actor, keep
):
    hot = person(workspace, "hot@initech.com", updated_days_ago=30, temperature="hot")
    cold = person(workspace, "cold@initech.com", updated_days_ago=1, temperature="cold")
    primary, secondary = (hot, cold) if keep == "hot" else (cold, hot)
    assert services.contact_merge_defaults(primary, secondary)["temperature"] == (
        "primary" if keep == "hot" else "secondary"
    )
    merged = services.contact_merge(
        workspace=workspace, primary_id=primary.pk, secondary_id=secondary.pk, actor=owner_actor
    )
    assert merged.temperature == "hot"


def test_a_withdrawal_survives_a_merge_with_a_newer_granted_record(workspace, owner_actor):
    withdrawn = person(workspace, "a@initech.com", updated_days_ago=40, consent_status="withdrawn")
    granted = person(workspace, "b@initech.com", updated_days_ago=1, consent_status="granted")
    merged = services.contact_merge(
        workspace=workspace, primary_id=granted.pk, secondary_id=withdrawn.pk, actor=owner_actor
    )
    assert merged.consent_status == "withdrawn"


def test_an_empty_custom_value_never_replaces_a_filled_one(workspace, owner_actor):
    filled = person(
        workspace, "a@initech.com", updated_days_ago=40, custom_fields={"plans": ["pro"]}
    )
    empty = person(workspace, "b@initech.com", updated_days_ago=1, custom_fields={"plans": []})
    defaults = services.contact_merge_defaults(empty, filled)
    assert defaults["custom_fields.plans"] == "secondary"
