"""Suspected and spam submissions in the app: counted on the form, listed on their own tab,
and released as a lead in one click ("Add as lead" / "Not spam")."""

import pytest

from leadflow.capture import services
from leadflow.capture.models import Submission
from leadflow.contacts.models import Activity, Contact
from tests.capture.conftest import PublicClient, good_fields, lead_form_fields


def forms_url(workspace, path: str = "") -> str:
    return f"/w/{workspace.slug}/forms/{path}"


@pytest.fixture
def held(lead_form):
    """A quick person (suspected, too fast) and a password manager that filled the
    honeypot (spam)."""
    lead_form.min_fill_seconds = 30
    lead_form.save()
    public = PublicClient(lead_form)
    public.submit(good_fields(email="quick@initech.com", first_name="Quinn"))
    public.submit(good_fields(email="real@initech.com", first_name="Rae", _lf_hp="autofilled"))
    return (
        Submission.objects.get(status="suspected"),
        Submission.objects.get(status="spam"),
    )


def test_the_form_counts_suspected_submissions_and_lists_them_on_their_tab(
    owner_client, workspace, lead_form, held, django_assert_max_num_queries
):
    suspected, _ = held
    listing = owner_client.get(forms_url(workspace)).content.decode()
    assert "1 to review" in listing and "?status=suspected" in listing
    accepted_page = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/"))
    text = accepted_page.content.decode()
    assert "1 suspected to review" in text
    assert 'Suspected <span class="count-pill attention">1</span>' in text
    with django_assert_max_num_queries(8):
        response = owner_client.get(
            forms_url(workspace, f"{lead_form.pk}/submissions/?status=suspected")
        )
    assert [row["submission"].pk for row in response.context["rows"]] == [suspected.pk]
    text = response.content.decode()
    assert "quick@initech.com" in text and "too fast" in text
    assert "most likely a quick person using autofill" in text
    release = forms_url(workspace, f"{lead_form.pk}/submissions/{suspected.pk}/release")
    assert f'action="{release}"' in text and "Add as lead" in text


@pytest.mark.parametrize(
    ("role", "sales_sees_all_leads", "shown"),
    [("sales", False, False), ("viewer", True, False), ("sales", True, True)],
)
def test_only_members_who_can_release_are_told_how_many_wait_for_review(
    client_for, workspace, lead_form, held, role, sales_sees_all_leads, shown
):
    workspace.sales_sees_all_leads = sales_sees_all_leads
    workspace.save()
    client, _ = client_for(role)
    listing = client.get(forms_url(workspace)).content.decode()
    head = client.get(forms_url(workspace, f"{lead_form.pk}/submissions/")).content.decode()
    assert ("1 to review" in listing) is shown
    assert ("1 suspected to review" in head) is shown


def test_add_as_lead_in_one_click(owner_client, workspace, lead_form, held):
    suspected, _ = held
    release = forms_url(workspace, f"{lead_form.pk}/submissions/{suspected.pk}/release")
    response = owner_client.post(release, {"next": "list"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"{lead_form.pk}/submissions/?status=suspected")
    contact = Contact.objects.get(email="quick@initech.com")
    suspected.refresh_from_db()
    assert (suspected.status, suspected.contact) == ("accepted", contact)
    assert suspected.released_by == "owner@acme-widgets.com"
    assert Activity.objects.filter(contact=contact, kind="form.submitted").count() == 1
    page = owner_client.get(response["Location"])
    assert "Added Quinn as a lead." in page.content.decode()
    assert page.context["stats"].suspected == 0 and page.context["stats"].submissions == 1

    # A second click (the page was open in two tabs) changes nothing.
    owner_client.post(release, {"next": "list"})
    assert Activity.objects.filter(contact=contact, kind="form.submitted").count() == 1
    detail = owner_client.get(forms_url(workspace, f"{lead_form.pk}/submissions/{suspected.pk}/"))
    text = detail.content.decode()
    assert "Held as too fast; added as a lead by owner@acme-widgets.com" in text
    assert "Not spam" not in text


def test_not_spam_on_the_submission_page(owner_client, workspace, lead_form, held):
    _, spam = held
    detail = forms_url(workspace, f"{lead_form.pk}/submissions/{spam.pk}/")
    text = owner_client.get(detail).content.decode()
    assert "Not spam: add as lead" in text
    response = owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/submissions/{spam.pk}/release")
    )
    assert response["Location"] == detail
    contact = Contact.objects.get(email="real@initech.com")
    assert contact.first_name == "Rae" and contact.lifecycle_stage == "mql"


def test_a_viewer_may_not_release(client_for, workspace, lead_form, held):
    suspected, _ = held
    viewer, _ = client_for("viewer")
    page = viewer.get(forms_url(workspace, f"{lead_form.pk}/submissions/?status=suspected"))
    assert page.status_code == 200 and "Add as lead" not in page.content.decode()
    release = forms_url(workspace, f"{lead_form.pk}/submissions/{suspected.pk}/release")
    assert viewer.post(release).status_code == 403
    assert viewer.get(release).status_code in (403, 405)
    assert not Contact.objects.exists()


def test_another_workspaces_submission_is_not_found(
    owner_client, workspace, lead_form, held, other_workspace, owner_actor
):
    theirs = services.form_create(
        workspace=other_workspace,
        actor=owner_actor,
        data={"name": "Theirs", "fields": lead_form_fields()[:1]},
    )
    other = Submission.objects.create(
        workspace=other_workspace, form=theirs, status="spam", payload={"email": "x@y.com"}
    )
    for form_id, submission_id in (
        (theirs.pk, other.pk),
        (lead_form.pk, other.pk),
        (theirs.pk, held[0].pk),
    ):
        path = f"{form_id}/submissions/{submission_id}/release"
        assert owner_client.post(forms_url(workspace, path)).status_code == 404, path
    assert not Contact.objects.exists()


def test_a_release_the_form_refuses_says_why_with_the_fields_labels(
    owner_client, workspace, lead_form
):
    bot = Submission.objects.create(
        workspace=workspace,
        form=lead_form,
        status="spam",
        spam_reason="honeypot",
        payload={"first_name": "Nemo", "phone": "12"},
    )
    detail = forms_url(workspace, f"{lead_form.pk}/submissions/{bot.pk}/")
    response = owner_client.post(
        forms_url(workspace, f"{lead_form.pk}/submissions/{bot.pk}/release"), follow=True
    )
    assert response.redirect_chain[-1][0] == detail
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("Not added as a lead: its answers fail the form's rules now.")
    assert "Work email: This field is required." in message
    assert "Phone: Enter a valid phone number." in message
    assert message.count("email:") == message.count("Work email:")  # labels, not names
    assert not Contact.objects.exists()


def test_a_salesperson_is_told_why_the_held_tabs_are_empty_for_them(
    client_for, workspace, lead_form, held
):
    seller, _ = client_for("sales")
    for status in ("suspected", "spam"):
        page = seller.get(forms_url(workspace, f"{lead_form.pk}/submissions/?status={status}"))
        text = page.content.decode()
        assert page.context["stats"].suspected == 1 and page.context["rows"] == []
        assert "Nothing to review" not in text and "No spam caught" not in text
        assert "belong to no contact yet" in text and "members who see every lead" in text
        assert "Add the real ones as leads" not in text
