"""Companies (list, detail, create, edit, delete) and the duplicates review page."""

from leadflow.contacts.models import Company, Contact, DuplicateCandidate, DuplicateStatus
from leadflow.contacts.services import company_create
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


def test_duplicates_side_by_side_merge_and_dismiss(owner_client, workspace, contact, make_contact):
    twin = make_contact(first_name="Ann", last_name="Lee", email="ann.l@lee-corp.com")
    pair = DuplicateCandidate.objects.create(
        workspace=workspace, contact_id=contact.pk, other_id=twin.pk, reason="same name and company"
    )
    html = owner_client.get(url(workspace, "duplicates/")).content.decode()
    assert "ann@lee-corp.com" in html and "ann.l@lee-corp.com" in html
    assert f"contacts/{contact.pk}/merge/?other={twin.pk}" in html
    assert "Not a duplicate" in html
    response = owner_client.post(url(workspace, f"duplicates/{pair.pk}/dismiss/"))
    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED
    assert (
        "ann.l@lee-corp.com" not in owner_client.get(url(workspace, "duplicates/")).content.decode()
    )
    assert owner_client.post(url(workspace, f"duplicates/{pair.pk}/dismiss/")).status_code == 404


def test_another_workspace_pair_cannot_be_dismissed(
    owner_client, workspace, other_workspace, other_contact
):
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor

    second = contact_upsert(
        workspace=other_workspace, data={"email": "z2@other-co.com"}, actor=Actor.system()
    ).contact
    pair = DuplicateCandidate.objects.create(
        workspace=other_workspace, contact_id=other_contact.pk, other_id=second.pk, reason="x"
    )
    assert owner_client.post(url(workspace, f"duplicates/{pair.pk}/dismiss/")).status_code == 404
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.OPEN


def test_list_pages_have_a_fixed_query_count(
    owner_client, workspace, make_contact, owner, django_assert_max_num_queries
):
    people = [
        make_contact(
            first_name=f"Dup{index}",
            last_name="Same",
            email=f"d{index}@firm{index}.com",
            owner_id=owner.pk,
        )
        for index in range(12)
    ]
    for first, second in zip(people[::2], people[1::2], strict=True):
        DuplicateCandidate.objects.create(
            workspace=workspace, contact_id=first.pk, other_id=second.pk, reason="same phone"
        )
    # session, user, membership, the page itself, the switcher's workspaces.
    with django_assert_max_num_queries(5):
        response = owner_client.get(url(workspace, "duplicates/"))
    assert len(response.context["page"].items) == 6
    with django_assert_max_num_queries(5):
        response = owner_client.get(url(workspace, "companies/"))
    assert len(response.context["page"].items) == 12
    # ... plus the company, its contacts with their tags, and the capped count.
    with django_assert_max_num_queries(8):
        owner_client.get(url(workspace, f"companies/{people[0].company_id}/"))
    with django_assert_max_num_queries(5):
        owner_client.get(url(workspace, "settings/audit/"))
