"""Notes with @mentions: stored on the note's activity, each mentioned member notified in the
app at once and by email once (a real SMTP server); a mention lets a salesperson limited to
own leads open that lead, and only that one."""

import pytest

from leadflow.contacts.audience import users_who_see
from leadflow.contacts.models import Activity
from leadflow.contacts.selectors import contact_list, contacts_visible
from leadflow.contacts.services import contact_upsert, note_add
from leadflow.core.actors import Actor
from leadflow.core.errors import ValidationFailed
from leadflow.core.models import Membership, Notification, NotificationKind
from leadflow.core.tasks import notifications_email
from tests.capture.test_notifications import run_worker, smtp, text_of  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def actor_of(workspace, user) -> Actor:
    return Actor.for_user(user, Membership.objects.get(workspace=workspace, user=user))


@pytest.fixture
def people(workspace, make_member):
    jane = make_member("sales", "jane@acme-widgets.com").user
    jane.full_name = "Jane Doe"
    jane.save()
    janet = make_member("marketer", "janet@acme-widgets.com").user
    janet.full_name = "Jane Doerr"
    janet.save()
    return jane, janet


def test_mentions_by_name_and_email_notify_each_member_once_in_the_app_and_by_email(
    smtp,  # noqa: F811
    workspace,
    owner,
    owner_actor,
    people,
):
    jane, janet = people
    contact = contact_upsert(
        workspace=workspace,
        data={"email": "kim@example.org", "first_name": "Kim"},
        actor=owner_actor,
    ).contact
    note = note_add(
        workspace=workspace,
        contact_id=contact.pk,
        body="@Jane Doe can you call? cc @JANET@acme-widgets.com and @owner@acme-widgets.com, "
        "not @nobody@example.org",
        actor=owner_actor,
    )
    # "@Jane Doe" is Jane, not Janet Doerr (whose email names her); the author hears nothing.
    assert note.data["mentions"] == sorted([jane.pk, janet.pk, owner.pk])
    told = Notification.objects.filter(kind=NotificationKind.MENTION).order_by("user_id")
    assert [n.user_id for n in told] == sorted([jane.pk, janet.pk])
    assert told[0].title == f"{owner.display_name} mentioned you on Kim"
    assert told[0].contact_id == contact.pk

    run_worker()
    assert [m["Subject"] for m in smtp.to(jane.email)] == [told[0].title]
    assert "@Jane Doe can you call?" in text_of(smtp.to(jane.email)[0])
    assert len(smtp.to(janet.email)) == 1 and smtp.to(owner.email) == []
    assert notifications_email.call([n.pk for n in told]) == 0  # a retry sends nothing
    assert len(smtp.messages) == 2


def test_a_mention_lets_a_salesperson_open_that_lead_and_no_other(workspace, owner_actor, people):
    jane, _ = people
    jane_actor = actor_of(workspace, jane)
    shared, other = (
        contact_upsert(workspace=workspace, data={"email": email}, actor=owner_actor).contact
        for email in ("shared@example.org", "other@example.org")
    )
    assert users_who_see(workspace, shared.pk, [jane.pk]) == set()
    note_add(workspace=workspace, contact_id=shared.pk, body="@Jane Doe please", actor=owner_actor)
    assert users_who_see(workspace, shared.pk, [jane.pk]) == {jane.pk}
    assert list(contacts_visible(workspace, jane_actor).values_list("pk", flat=True)) == [shared.pk]
    assert [c.pk for c in contact_list(workspace, jane_actor)] == [shared.pk]
    assert users_who_see(workspace, other.pk, [jane.pk]) == set()


def test_mention_ids_must_be_members(workspace, other_workspace, owner_actor, people):
    jane, _ = people
    stranger = Membership.objects.get(workspace=other_workspace).user
    contact = contact_upsert(
        workspace=workspace, data={"email": "kim@example.org"}, actor=owner_actor
    ).contact
    with pytest.raises(ValidationFailed) as failure:
        note_add(
            workspace=workspace,
            contact_id=contact.pk,
            body="Hi",
            mention_ids=[jane.pk, stranger.pk, "x"],
            actor=owner_actor,
        )
    assert [e.field for e in failure.value.errors] == ["mention_ids"]
    assert not Activity.objects.filter(kind="note.added").exists()
    assert not Notification.objects.exists()
    note = note_add(
        workspace=workspace,
        contact_id=contact.pk,
        body="Hi",
        mention_ids=[jane.pk],
        actor=owner_actor,
    )
    assert note.data["mentions"] == [jane.pk]
