"""Who may see and do what: pages per role, tenant isolation, CSRF."""

import pytest
from django.test import Client

from leadflow.contacts.models import Contact, CustomField
from leadflow.contacts.services import custom_field_create
from leadflow.core.models import ApiKey
from leadflow.duplicates.models import DuplicatePair
from leadflow.duplicates.services import duplicates_check
from tests.web.conftest import url


@pytest.fixture
def everything(workspace, owner_actor, contact, make_contact):
    """One of each object, so every page has something to show."""
    twin = make_contact(first_name="Ann", last_name="Lee", email="ann.lee@lee-corp.com")
    duplicates_check(workspace=workspace, contact_ids=[contact.pk, twin.pk])
    low, high = sorted([contact.pk, twin.pk])
    pair = DuplicatePair.objects.get(workspace=workspace, contact_id=low, other_id=high)
    field = custom_field_create(
        workspace=workspace,
        data={"label": "Budget", "field_type": "number", "min_value": 0},
        actor=owner_actor,
    )
    return {"contact": contact, "company": contact.company, "pair": pair, "field": field}


def owner_pages(everything) -> list[str]:
    contact_id = everything["contact"].pk
    company_id = everything["company"].pk
    return [
        "contacts/",
        "contacts/?q=ann&stage=lead&temperature=cold&owner=none&tag=vip&sort=last_name",
        "contacts/new/",
        f"contacts/{contact_id}/",
        f"contacts/{contact_id}/edit/",
        f"contacts/{contact_id}/merge/",
        f"contacts/{contact_id}/merge/?q=lee",
        f"contacts/{contact_id}/merge/?other={everything['pair'].other_id}",
        f"contacts/{contact_id}/delete/",
        "companies/",
        "companies/?q=lee",
        "companies/new/",
        f"companies/{company_id}/",
        f"companies/{company_id}/edit/",
        f"companies/{company_id}/delete/",
        "duplicates/",
        "duplicates/?min=50&reason=last_name&status=dismissed",
        f"duplicates/{everything['pair'].pk}/",
        "duplicates/merge-above/?threshold=90",
        "duplicates/settings/",
        "settings/",
        "settings/members/",
        "settings/api-keys/",
        "settings/fields/",
        f"settings/fields/{everything['field'].pk}/",
        "settings/audit/",
    ]


def test_every_page_renders_for_the_owner(owner_client, workspace, everything):
    for path in owner_pages(everything):
        response = owner_client.get(url(workspace, path))
        assert response.status_code == 200, path
        html = response.content.decode()
        assert '<main id="main"' in html, path
        assert 'hx-headers=\'{"X-CSRFToken": "' in html, path


def test_workspace_root_is_the_home_page(owner_client, workspace):
    response = owner_client.get(url(workspace))
    assert response.status_code == 200
    assert response.templates[0].name == "web/home.html"


def test_switcher_lists_every_workspace_of_the_user(owner_client, workspace, owner, owner_actor):
    from leadflow.core.services import workspace_create

    second, _ = workspace_create(name="Second Shop", owner_email=owner.email)
    html = owner_client.get(url(workspace, "contacts/")).content.decode()
    assert f'href="/w/{second.slug}/"' in html
    assert f'href="/w/{workspace.slug}/" aria-current="true"' in html


def test_another_workspace_slug_answers_404(owner_client, workspace, other_workspace, everything):
    for path in owner_pages(everything):
        response = owner_client.get(f"/w/{other_workspace.slug}/{path}")
        assert response.status_code == 404, path
    assert owner_client.get("/w/no-such-workspace/contacts/").status_code == 404


def test_another_workspace_ids_answer_404(owner_client, workspace, other_contact):
    other_company = other_contact.company
    assert other_company is not None
    gets = [
        f"contacts/{other_contact.pk}/",
        f"contacts/{other_contact.pk}/edit/",
        f"contacts/{other_contact.pk}/merge/",
        f"contacts/{other_contact.pk}/delete/",
        f"companies/{other_company.pk}/",
        f"companies/{other_company.pk}/edit/",
        f"companies/{other_company.pk}/delete/",
    ]
    for path in gets:
        assert owner_client.get(url(workspace, path)).status_code == 404, path
    posts = {
        f"contacts/{other_contact.pk}/edit/": {"job_title": "Hacked"},
        f"contacts/{other_contact.pk}/status/": {"temperature": "hot"},
        f"contacts/{other_contact.pk}/tags/": {"add": "hacked"},
        f"contacts/{other_contact.pk}/notes/": {"body": "hacked"},
        f"contacts/{other_contact.pk}/delete/": {},
        f"companies/{other_company.pk}/edit/": {"name": "Hacked"},
        f"companies/{other_company.pk}/delete/": {},
    }
    for path, data in posts.items():
        assert owner_client.post(url(workspace, path), data).status_code == 404, path
    other_contact.refresh_from_db()
    assert other_contact.job_title == ""
    assert other_contact.temperature == "cold"
    assert not other_contact.tags.exists()
    assert other_contact.activities.filter(kind="note.added").count() == 0


def test_merge_with_another_workspace_contact_is_refused(
    owner_client, workspace, contact, other_contact
):
    response = owner_client.post(
        url(workspace, f"contacts/{contact.pk}/merge/"), {"other": other_contact.pk}
    )
    assert response.status_code == 404
    assert Contact.objects.filter(pk=other_contact.pk).exists()


def test_viewer_reads_but_gets_403_on_every_write(client_for, workspace, everything):
    viewer, _ = client_for("viewer")
    contact, company = everything["contact"], everything["company"]
    for path in [
        "contacts/",
        f"contacts/{contact.pk}/",
        "companies/",
        f"companies/{company.pk}/",
        "duplicates/",
        f"duplicates/{everything['pair'].pk}/",
        "duplicates/settings/",
    ]:
        assert viewer.get(url(workspace, path)).status_code == 200, path
    html = viewer.get(url(workspace, f"contacts/{contact.pk}/")).content.decode()
    assert "Add a note" not in html
    assert "Save status" not in html
    forbidden_gets = [
        "contacts/new/",
        f"contacts/{contact.pk}/edit/",
        f"contacts/{contact.pk}/merge/",
        f"contacts/{contact.pk}/delete/",
        "companies/new/",
        f"companies/{company.pk}/edit/",
        "duplicates/merge-above/?threshold=90",
        "settings/",
        "settings/members/",
        "settings/api-keys/",
        "settings/fields/",
        "settings/audit/",
    ]
    for path in forbidden_gets:
        assert viewer.get(url(workspace, path)).status_code == 403, path
    forbidden_posts = {
        "contacts/new/": {"email": "new@example.org"},
        "contacts/bulk/": {"ids": [contact.pk], "action": "tag", "tag": "x"},
        f"contacts/{contact.pk}/edit/": {"job_title": "Boss"},
        f"contacts/{contact.pk}/status/": {"temperature": "hot"},
        f"contacts/{contact.pk}/tags/": {"add": "x"},
        f"contacts/{contact.pk}/notes/": {"body": "hello"},
        f"contacts/{contact.pk}/delete/": {},
        f"contacts/{contact.pk}/merge/": {"other": everything["pair"].other_id},
        "companies/new/": {"name": "New Co"},
        f"companies/{company.pk}/edit/": {"name": "Renamed"},
        f"companies/{company.pk}/delete/": {},
        f"duplicates/{everything['pair'].pk}/dismiss/": {},
        f"duplicates/{everything['pair'].pk}/merge/": {},
        "duplicates/merge-above/": {"threshold": "50", "pair": [everything["pair"].pk]},
        "duplicates/scan/": {},
        "duplicates/settings/": {"auto_merge": "on", "threshold": "99"},
        "settings/": {"name": "Renamed"},
        "settings/members/": {"email": "x@example.org", "role": "owner"},
        "settings/api-keys/": {"name": "k", "scopes": ["contacts:read"]},
        "settings/fields/": {"label": "X", "field_type": "text"},
        f"settings/fields/{everything['field'].pk}/delete/": {},
    }
    for path, data in forbidden_posts.items():
        assert viewer.post(url(workspace, path), data).status_code == 403, path
    contact.refresh_from_db()
    assert contact.job_title == "Buyer"
    assert Contact.objects.filter(workspace=workspace).count() == 2
    assert not ApiKey.objects.filter(workspace=workspace).exists()
    assert CustomField.objects.filter(workspace=workspace).count() == 1


def test_marketer_writes_but_cannot_reach_settings_or_audit(client_for, workspace, contact):
    marketer, _ = client_for("marketer")
    response = marketer.post(url(workspace, f"contacts/{contact.pk}/edit/"), {"job_title": "CEO"})
    assert response.status_code == 302
    for path in ["settings/", "settings/members/", "settings/audit/"]:
        assert marketer.get(url(workspace, path)).status_code == 403, path
    html = marketer.get(url(workspace, "contacts/")).content.decode()
    assert "Audit log" not in html
    assert "Settings" not in html


def test_sales_cannot_delete(client_for, workspace, make_contact):
    sales, membership = client_for("sales")
    mine = make_contact(first_name="Mine", owner_id=membership.user.pk)
    assert sales.get(url(workspace, f"contacts/{mine.pk}/delete/")).status_code == 403
    response = sales.post(
        url(workspace, "contacts/bulk/"), {"ids": [mine.pk], "action": "delete", "confirm": "yes"}
    )
    assert response.status_code == 403
    assert Contact.objects.filter(pk=mine.pk).exists()


def test_sales_sees_only_own_contacts(client_for, workspace, make_contact):
    sales, membership = client_for("sales")
    mine = make_contact(first_name="Mine", last_name="Lead", owner_id=membership.user.pk)
    theirs = make_contact(first_name="Theirs", last_name="Lead")
    html = sales.get(url(workspace, "contacts/")).content.decode()
    assert "Mine Lead" in html
    assert "Theirs Lead" not in html
    assert sales.get(url(workspace, f"contacts/{mine.pk}/")).status_code == 200
    assert sales.get(url(workspace, f"contacts/{theirs.pk}/")).status_code == 404
    response = sales.post(url(workspace, f"contacts/{theirs.pk}/notes/"), {"body": "sneaky"})
    assert response.status_code == 404
    # Bulk actions skip what the member may not see.
    sales.post(
        url(workspace, "contacts/bulk/"),
        {"ids": [mine.pk, theirs.pk], "action": "tag", "tag": "seen"},
    )
    assert list(mine.tags.values_list("name", flat=True)) == ["seen"]
    assert not theirs.tags.exists()


def test_sales_sees_all_when_the_workspace_allows(client_for, workspace, make_contact):
    workspace.sales_sees_all_leads = True
    workspace.save()
    sales, _ = client_for("sales")
    theirs = make_contact(first_name="Theirs", last_name="Lead")
    assert sales.get(url(workspace, f"contacts/{theirs.pk}/")).status_code == 200


def test_sales_duplicates_hide_pairs_with_others_leads(client_for, workspace, make_contact):
    sales, membership = client_for("sales")
    same = {"first_name": "Sam", "last_name": "Rivers", "phone": "+447911123456"}
    mine = make_contact(email="sam@rivers.example", owner_id=membership.user.pk, **same)
    theirs = make_contact(email="sam.rivers@gmail.com", **same)
    duplicates_check(workspace=workspace, contact_ids=[mine.pk, theirs.pk])
    low, high = sorted([mine.pk, theirs.pk])
    pair = DuplicatePair.objects.get(workspace=workspace, contact_id=low, other_id=high)
    html = sales.get(url(workspace, "duplicates/")).content.decode()
    assert "sam.rivers@gmail.com" not in html and f'id="pair-{pair.pk}"' not in html
    assert sales.get(url(workspace, f"duplicates/{pair.pk}/")).status_code == 404
    assert sales.post(url(workspace, f"duplicates/{pair.pk}/dismiss/")).status_code == 404


class TestCsrf:
    """Every state-changing form needs the CSRF token, for htmx requests too."""

    @pytest.fixture
    def csrf_client(self, owner):
        client = Client(enforce_csrf_checks=True)
        client.force_login(owner)
        return client

    def test_post_without_token_is_refused(self, csrf_client, workspace, contact):
        paths = [
            f"contacts/{contact.pk}/edit/",
            f"contacts/{contact.pk}/notes/",
            "contacts/bulk/",
            "settings/",
        ]
        for path in paths:
            response = csrf_client.post(url(workspace, path), {"job_title": "CSRF", "body": "x"})
            assert response.status_code == 403, path
        logout = csrf_client.post("/logout/")
        assert logout.status_code == 403
        contact.refresh_from_db()
        assert contact.job_title == "Buyer"

    def test_the_duplicate_decisions_need_the_token(self, csrf_client, workspace, everything):
        pair = everything["pair"]
        paths = {
            f"duplicates/{pair.pk}/merge/": {},
            f"duplicates/{pair.pk}/dismiss/": {},
            "duplicates/merge-above/": {"threshold": "50", "pair": [pair.pk]},
            "duplicates/scan/": {},
            "duplicates/settings/": {"auto_merge": "on", "threshold": "99"},
        }
        for path, data in paths.items():
            assert csrf_client.post(url(workspace, path), data).status_code == 403, path
        pair.refresh_from_db()
        assert pair.status == "open"

    def test_htmx_post_with_header_token_is_accepted(self, csrf_client, workspace, contact):
        page = csrf_client.get(url(workspace, f"contacts/{contact.pk}/"))
        token = page.context["csrf_token"]
        response = csrf_client.post(
            url(workspace, f"contacts/{contact.pk}/notes/"),
            {"body": "Called back"},
            headers={"X-CSRFToken": str(token), "HX-Request": "true", "HX-Target": "activity"},
        )
        assert response.status_code == 200
        assert "Called back" in response.content.decode()
