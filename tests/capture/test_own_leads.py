"""A salesperson who sees only their own leads sees only those leads' submissions (list,
page, export), and always opens a lead they were notified of; a form can give its new
leads an owner, who is then told about them."""

import csv
import io
import re

import pytest
from django.test import Client

from leadflow.capture import services
from leadflow.capture.models import Submission, SubmissionStatus
from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from tests.capture.conftest import PublicClient
from tests.capture.test_notifications import run_worker, smtp, text_of  # noqa: F401

FIELDS = [
    {"name": "email", "type": "email", "required": True, "maps_to": "email"},
    {"name": "first_name", "type": "text", "maps_to": "first_name"},
    {"name": "message", "type": "textarea"},
]


@pytest.fixture
def seller(make_member):
    return make_member("sales", "sam@acme-widgets.com").user


@pytest.fixture
def form(workspace, owner_actor):
    return services.form_create(
        workspace=workspace,
        actor=owner_actor,
        data={"name": "Contact us", "fields": FIELDS, "min_fill_seconds": 0},
    )


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _path(workspace, rest: str) -> str:
    return f"/w/{workspace.slug}/{rest}"


@pytest.fixture
def submissions(workspace, form, seller):
    """Three submissions: one from Sam's lead, one from someone else's, one spam."""
    contact_upsert(
        workspace=workspace,
        actor=Actor.system(),
        data={"email": "mine@initech.com", "owner_id": seller.pk},
    )
    public = PublicClient(form)
    assert public.submit({"email": "mine@initech.com", "message": "call me"}).status_code == 201
    assert public.submit({"email": "theirs@globex.com", "message": "secret"}).status_code == 201
    spam = {"email": "bot@spam.example", "_lf_hp": "gotcha"}
    assert public.submit(spam).status_code == 201
    return {
        "mine": Submission.objects.get(contact__email="mine@initech.com"),
        "theirs": Submission.objects.get(contact__email="theirs@globex.com"),
        "spam": Submission.objects.get(status=SubmissionStatus.SPAM),
    }


def test_a_salesperson_lists_opens_and_exports_only_the_submissions_of_their_own_leads(
    workspace, form, owner, seller, submissions, api_key_for
):
    sam = _logged_in(seller)
    listed = sam.get(_path(workspace, f"forms/{form.pk}/submissions/")).content.decode()
    assert "mine@initech.com" in listed and "theirs@globex.com" not in listed
    assert "your own leads only" in listed
    spam = sam.get(_path(workspace, f"forms/{form.pk}/submissions/?status=spam"))
    assert "bot@spam.example" not in spam.content.decode()

    mine, theirs = submissions["mine"], submissions["theirs"]
    opened = sam.get(_path(workspace, f"forms/{form.pk}/submissions/{mine.pk}/"))
    assert opened.status_code == 200
    for other in (theirs, submissions["spam"]):
        page = sam.get(_path(workspace, f"forms/{form.pk}/submissions/{other.pk}/"))
        assert page.status_code == 404

    export = sam.get(_path(workspace, f"forms/{form.pk}/submissions/export.csv"))
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [row["email"] for row in rows] == ["mine@initech.com"]
    spam_export = sam.get(_path(workspace, f"forms/{form.pk}/submissions/export.csv?status=spam"))
    assert "bot@spam.example" not in b"".join(spam_export.streaming_content).decode()

    # The owner, and a salesperson once the workspace lets sales see every lead, see all.
    for user in (owner, seller):
        if user == seller:
            workspace.sales_sees_all_leads = True
            workspace.save()
        client = _logged_in(user)
        page = client.get(_path(workspace, f"forms/{form.pk}/submissions/")).content.decode()
        assert "mine@initech.com" in page and "theirs@globex.com" in page
        path = f"forms/{form.pk}/submissions/{submissions['theirs'].pk}/"
        assert client.get(_path(workspace, path)).status_code == 200

    # An API key is not a member: it reads every submission.
    api = api_key_for(workspace, ["forms:read"])
    items = api.get(f"/forms/{form.pk}/submissions").json()["items"]
    assert {item["id"] for item in items} == {s.pk for s in submissions.values()}


# --- notified members and the form's owner of new leads --------------------------------------


def _link(message) -> str:
    return re.search(r"Open the contact: (\S+)", text_of(message)).group(1)


@pytest.mark.django_db(transaction=True)
def test_a_salesperson_notified_of_a_new_lead_opens_it_from_the_email(
    smtp,  # noqa: F811
    workspace,
    form,
    seller,
):
    form.notify_user_ids = [seller.pk]
    form.save()
    assert PublicClient(form).submit({"email": "jane@initech.com"}).status_code == 201
    run_worker()

    (message,) = smtp.to(seller.email)
    contact = Contact.objects.get(email="jane@initech.com")
    assert contact.owner is None  # nobody owns it: Sam sees it because Sam was told
    sam = _logged_in(seller)
    link = _link(message).removeprefix("http://testserver")
    assert sam.get(link).status_code == 200
    assert "jane@initech.com" in sam.get(_path(workspace, "contacts/")).content.decode()
    submission = Submission.objects.get()
    path = f"forms/{form.pk}/submissions/{submission.pk}/"
    assert sam.get(_path(workspace, path)).status_code == 200
    # Sam can act on the lead he was told about (a note), not on others.
    noted = sam.post(f"{link}notes/", {"body": "Called, no answer."})
    assert noted.status_code in (200, 302)
    other = contact_upsert(workspace=workspace, actor=Actor.system(), data={"email": "x@y.org"})
    assert sam.get(_path(workspace, f"contacts/{other.contact.pk}/")).status_code == 404
