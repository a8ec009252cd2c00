"""Companies (list, detail, create, edit, delete) and the duplicates review page."""

from leadflow.contacts.models import Company, Contact
from leadflow.contacts.services import company_create
from leadflow.duplicates.models import DuplicatePair, PairStatus
from leadflow.duplicates.services import duplicates_check
from tests.web.conftest import url


def test_company_list_search_and_pages(owner_client, workspace, owner_actor, monkeypatch):
    monkeypatch.setattr("leadflow.web.views.companies.PAGE_SIZE", 2)
    for name in ["Delta", "Alpha", "Charlie", "Bravo"]:
        company_create(
            workspace=workspace,
            data={"name": name, "domain": f"{name.lower()}.com"},
            actor=owner_actor,
        )
    first = owner_client.get(url(workspace, "companies/"))
    assert [c.name for c in first.context["page"].items] == ["Alpha", "Bravo"]
    second = owner_client.get(url(workspace, f"companies/?{first.context['next_query']}"))
    assert [c.name for c in second.context["page"].items] == ["Charlie", "Delta"]
    found = owner_client.get(url(workspace, "companies/?q=charlie.com"))
    assert [c.name for c in found.context["page"].items] == ["Charlie"]
    partial = owner_client.get(
        url(workspace, "companies/?q=alp"),
        headers={"HX-Request": "true", "HX-Target": "company-results"},
    )
    assert partial.content.decode().lstrip().startswith('<div id="company-results"')


def test_company_detail_lists_its_contacts(owner_client, workspace, contact, make_contact):
    make_contact(first_name="Other", email="other@elsewhere.org")
    response = owner_client.get(url(workspace, f"companies/{contact.company_id}/"))
    assert response.status_code == 200
    assert [c.pk for c in response.context["page"].items] == [contact.pk]
    assert f"contacts/?company={contact.company_id}" in response.content.decode()


def test_company_create_edit_delete(owner_client, workspace, contact):
    bad = owner_client.post(url(workspace, "companies/new/"), {"name": "", "domain": "nodot"})
    assert bad.status_code == 422
    html = bad.content.decode()
    assert 'id="id_name_error"' in html and 'id="id_domain_error"' in html
    response = owner_client.post(
        url(workspace, "companies/new/"),
        {
            "name": "Globex",
            "domain": "www.Globex.com",
            "size": "51-200",
            "industry": "Energy",
            "country": "Germany",
        },
    )
    company = Company.objects.get(workspace=workspace, name="Globex")
    assert response["Location"] == url(workspace, f"companies/{company.pk}/")
    assert (company.domain, company.country) == ("globex.com", "DE")
    taken = owner_client.post(
        url(workspace, f"companies/{company.pk}/edit/"),
        {"name": "Globex", "domain": "lee-corp.com", "size": "", "industry": "", "country": ""},
    )
    assert taken.status_code == 422
    assert "Another company in this workspace has this domain." in taken.content.decode()
    owner_client.post(
        url(workspace, f"companies/{company.pk}/edit/"),
        {"name": "Globex Corp", "domain": "globex.com", "size": "", "industry": "", "country": ""},
    )
    company.refresh_from_db()
    assert company.name == "Globex Corp"
    owner_client.post(url(workspace, f"companies/{contact.company_id}/delete/"))
    assert not Company.objects.filter(pk=contact.company_id).exists()
    assert Contact.objects.get(pk=contact.pk).company is None


def _pair(workspace, one, two) -> DuplicatePair:
    duplicates_check(workspace=workspace, contact_ids=[one.pk, two.pk])
    low, high = sorted([one.pk, two.pk])
    return DuplicatePair.objects.get(workspace=workspace, contact_id=low, other_id=high)


def test_duplicates_side_by_side_merge_and_dismiss(owner_client, workspace, contact, make_contact):
    twin = make_contact(first_name="Ann", last_name="Lee", email="ann.l@lee-corp.com")
    pair = _pair(workspace, contact, twin)
    html = owner_client.get(url(workspace, "duplicates/")).content.decode()
    assert "ann@lee-corp.com" in html and "ann.l@lee-corp.com" in html
    assert f"duplicates/{pair.pk}/merge/" in html and f'duplicates/{pair.pk}/"' in html
    assert "Not a duplicate" in html
    response = owner_client.post(url(workspace, f"duplicates/{pair.pk}/dismiss/"))
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == PairStatus.DISMISSED
    assert (
        "ann.l@lee-corp.com" not in owner_client.get(url(workspace, "duplicates/")).content.decode()
    )
    again = owner_client.post(url(workspace, f"duplicates/{pair.pk}/dismiss/"))  # double click
    assert again.status_code == 302
    pair.refresh_from_db()
    assert pair.status == PairStatus.DISMISSED


def test_another_workspace_pair_cannot_be_dismissed(
    owner_client, workspace, other_workspace, other_contact
):
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor

    same = {"first_name": "Zed", "last_name": "Quark", "phone": "+447911123456"}
    first, second = (
        contact_upsert(
            workspace=other_workspace, data={"email": email, **same}, actor=Actor.system()
        ).contact
        for email in ("zed.q@other-co.com", "zed.quark@gmail.com")
    )
    pair = _pair(other_workspace, first, second)
    assert owner_client.post(url(workspace, f"duplicates/{pair.pk}/dismiss/")).status_code == 404
    pair.refresh_from_db()
    assert pair.status == PairStatus.OPEN


def test_list_pages_have_a_fixed_query_count(
    owner_client, workspace, make_contact, owner, django_assert_max_num_queries
):
    surnames = ["Abernathy", "Castellano", "Fitzgerald", "Ishikawa", "Lindqvist", "Pemberton"]
    people = []
    for index, surname in enumerate(surnames):
        same = {"first_name": "Robin", "last_name": surname, "owner_id": owner.pk}
        one = make_contact(
            email=f"r{index}@firm{index}.com", phone=f"+4479111234{50 + index}", **same
        )
        two = make_contact(
            email=f"robin@firm{index + 6}.com", phone=f"+4479111234{50 + index}", **same
        )
        _pair(workspace, one, two)
        people += [one, two]
    # session, user, membership, the page itself, the profile (last scan), the sources
    # filter (two), the switcher's workspaces.
    with django_assert_max_num_queries(8):
        response = owner_client.get(url(workspace, "duplicates/"))
    assert len(response.context["rows"]) == 6
    with django_assert_max_num_queries(5):
        response = owner_client.get(url(workspace, "companies/"))
    assert len(response.context["page"].items) == 12
    # ... plus the company, its contacts with their tags, and the capped count.
    with django_assert_max_num_queries(8):
        owner_client.get(url(workspace, f"companies/{people[0].company_id}/"))
    with django_assert_max_num_queries(5):
        owner_client.get(url(workspace, "settings/audit/"))
