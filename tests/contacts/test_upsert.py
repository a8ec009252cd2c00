"""contact_upsert: the single way contacts come into being, used by every entry point."""

import threading

import pytest
from django.db import connection

from leadflow.contacts import services
from leadflow.contacts.models import Activity, Company, Contact, CustomField
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed


def upsert(workspace, **data):
    return services.contact_upsert(workspace=workspace, data=data, actor=Actor.system())


def test_creates_with_normalised_email_phone_and_company(workspace):
    result = upsert(
        workspace,
        email=" Jane.Doe@Initech.COM ",
        phone="07911 123456",
        first_name="Jane",
        country="United Kingdom",
    )
    contact = result.contact
    assert result.created
    assert contact.email == "jane.doe@initech.com"
    assert contact.phone == "+447911123456"  # read in the workspace's default country (GB)
    assert contact.country == "GB"
    assert contact.company.domain == "initech.com"
    assert contact.company.name == "Initech"
    kinds = list(Activity.objects.filter(contact=contact).values_list("kind", flat=True))
    assert kinds == ["contact.created"]


def test_free_mail_never_creates_a_company(workspace):
    contact = upsert(workspace, email="someone@gmail.com").contact
    assert contact.company is None
    assert not Company.objects.filter(workspace=workspace).exists()


def test_company_name_links_when_email_is_free_mail(workspace):
    first = upsert(workspace, email="a@gmail.com", company="Globex").contact
    second = upsert(workspace, email="b@yahoo.com", company="globex").contact
    assert first.company_id == second.company_id
    assert first.company.domain is None


def test_same_email_updates_instead_of_duplicating(workspace):
    first = upsert(
        workspace,
        email="ann@initech.com",
        first_name="Ann",
        source="google",
        medium="cpc",
        tags=["webinar"],
    )
    second = upsert(
        workspace,
        email="ANN@initech.com",
        last_name="Lee",
        first_name="",
        source="newsletter",
        medium="email",
        tags=["ebook"],
    )
    assert not second.created
    assert second.contact.pk == first.contact.pk
    contact = Contact.objects.get(pk=first.contact.pk)
    assert (contact.first_name, contact.last_name) == ("Ann", "Lee")  # blank never erases
    assert (contact.first_touch_source, contact.last_touch_source) == ("google", "newsletter")
    assert sorted(contact.tags.values_list("name", flat=True)) == ["ebook", "webinar"]
    update = Activity.objects.filter(contact=contact, kind="contact.updated").get()
    assert update.data["changes"]["last_name"] == ["", "Lee"]
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_without_email_matches_on_phone(workspace):
    first = upsert(workspace, phone="+44 20 7946 0958", first_name="Pat")
    second = upsert(workspace, phone="020 7946 0958", job_title="CTO")
    assert second.contact.pk == first.contact.pk
    assert Contact.objects.get(pk=first.contact.pk).job_title == "CTO"


def test_with_email_does_not_match_another_persons_phone(workspace):
    upsert(workspace, email="one@initech.com", phone="+442079460958")
    second = upsert(workspace, email="two@initech.com", phone="+442079460958")
    assert second.created


def test_email_or_phone_is_required(workspace):
    with pytest.raises(ValidationFailed) as failure:
        upsert(workspace, first_name="Nobody")
    assert [error.field for error in failure.value.errors] == ["email"]


def test_every_bad_field_is_named_and_nothing_is_written(workspace):
    with pytest.raises(ValidationFailed) as failure:
        upsert(
            workspace,
            email="not-an-email",
            phone="12",
            country="Atlantis",
            lifecycle_stage="hot",
            first_name="x" * 101,
            colour="blue",
            tags="not-a-list",
        )
    fields = {error.field for error in failure.value.errors}
    assert fields == {
        "email",
        "phone",
        "country",
        "lifecycle_stage",
        "first_name",
        "colour",
        "tags",
    }
    assert not Contact.objects.exists()
    assert not Activity.objects.exists()


def test_owner_must_be_a_member(workspace, other_workspace):
    from leadflow.core.models import Membership

    stranger = Membership.objects.get(workspace=other_workspace).user
    with pytest.raises(ValidationFailed) as failure:
        upsert(workspace, email="x@initech.com", owner_id=stranger.pk)
    assert failure.value.errors[0].field == "owner_id"


@pytest.fixture
def custom_fields(workspace):
    CustomField.objects.create(
        workspace=workspace,
        key="budget",
        label="Budget",
        field_type="number",
        min_value=0,
        max_value=1_000_000,
    )
    CustomField.objects.create(
        workspace=workspace,
        key="use_case",
        label="Use case",
        field_type="choice",
        choices=["sales", "support"],
        required=True,
    )
    CustomField.objects.create(
        workspace=workspace,
        key="channels",
        label="Channels",
        field_type="multi_choice",
        choices=["email", "sms", "phone"],
    )
    CustomField.objects.create(
        workspace=workspace, key="renewal", label="Renewal", field_type="date"
    )
    CustomField.objects.create(
        workspace=workspace, key="trial", label="Trial", field_type="boolean"
    )
    CustomField.objects.create(
        workspace=workspace,
        key="ref",
        label="Reference",
        field_type="text",
        pattern=r"[A-Z]{3}-\d+",
    )


def test_custom_fields_are_typed(workspace, custom_fields):
    contact = upsert(
        workspace,
        email="c@initech.com",
        custom_fields={
            "budget": "2500",
            "use_case": "sales",
            "channels": ["sms", "email"],
            "renewal": "2027-01-31",
            "trial": "yes",
            "ref": "ABC-12",
        },
    ).contact
    assert contact.custom_fields == {
        "budget": 2500,
        "use_case": "sales",
        "channels": ["sms", "email"],
        "renewal": "2027-01-31",
        "trial": True,
        "ref": "ABC-12",
    }


def test_custom_field_errors_name_each_field(workspace, custom_fields):
    with pytest.raises(ValidationFailed) as failure:
        upsert(
            workspace,
            email="c@initech.com",
            custom_fields={
                "budget": -1,
                "channels": ["fax"],
                "renewal": "31/01/2027",
                "trial": "maybe",
                "ref": "abc",
                "unknown": 1,
            },
        )
    fields = {error.field for error in failure.value.errors}
    assert fields == {
        "custom_fields.budget",
        "custom_fields.channels",
        "custom_fields.renewal",
        "custom_fields.trial",
        "custom_fields.ref",
        "custom_fields.unknown",
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_one_email_make_one_contact(workspace):
    """Eight threads race to create the same email: one contact, no error, all updates kept."""
    errors, results = [], []
    barrier = threading.Barrier(8)

    def worker(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            result = upsert(workspace, email="race@initech.com", tags=[f"t{number}"])
            results.append(result.created)
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert results.count(True) == 1
    contact = Contact.objects.get(workspace=workspace, email="race@initech.com")
    assert contact.tags.count() == 8
    assert Company.objects.filter(workspace=workspace, domain="initech.com").count() == 1


def test_required_custom_fields_are_required_on_create_only(workspace, custom_fields):
    with pytest.raises(ValidationFailed) as failure:
        upsert(workspace, email="new@initech.com")
    assert [e.field for e in failure.value.errors] == ["custom_fields.use_case"]
    assert not Contact.objects.exists()
    upsert(workspace, email="new@initech.com", custom_fields={"use_case": "sales"})
    again = upsert(workspace, email="new@initech.com", job_title="CTO")  # an update
    assert not again.created and again.contact.custom_fields["use_case"] == "sales"


def test_multi_choice_filter_works_on_every_database(workspace, custom_fields):
    from leadflow.contacts.selectors import contact_list

    sms = upsert(
        workspace,
        email="s@initech.com",
        custom_fields={"use_case": "sales", "channels": ["sms", "email"]},
    ).contact
    upsert(
        workspace, email="e@initech.com", custom_fields={"use_case": "sales", "channels": ["email"]}
    )
    found = contact_list(workspace, Actor.system(), {"custom": {"channels": "sms"}})
    assert [contact.pk for contact in found] == [sms.pk]
    assert contact_list(workspace, Actor.system(), {"custom": {"channels": "email"}}).count() == 2


def test_company_is_the_registrable_domain(workspace):
    first = upsert(workspace, email="ada@analytical-engines.co.uk").contact
    second = upsert(workspace, email="charles@mail.analytical-engines.co.uk").contact
    assert first.company_id == second.company_id
    assert (first.company.domain, first.company.name) == (
        "analytical-engines.co.uk",
        "Analytical Engines",
    )
