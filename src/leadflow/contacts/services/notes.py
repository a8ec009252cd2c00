"""Notes on a contact's timeline, with @mentions of members.

A note mentions a member by ``@`` and their email (``@jane@acme.com``) or their full name
(``@Jane Doe``, as the app's picker inserts it), or, through the API, by user id
(``mention_ids``). The mentioned user ids are stored in the note's activity
(``data["mentions"]``), and each mentioned member except the author gets an in-app
notification in the note's transaction and an email after the commit, once. A mention lets
the member open that lead even when they see only their own
(``contacts.audience.mentioned_contact_ids``, registered in ``NOTIFIED_CONTACT_IDS``):
mentioning someone is how a colleague brings them in.
"""

import re
from collections.abc import Iterable

from django.db import transaction
from django.urls import reverse

from leadflow.contacts.kind_writers import note_added_data
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
)
from leadflow.contacts.services.activities import activity_record
from leadflow.contacts.services.contacts import contact_for_write
from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Membership, NotificationKind, Workspace
from leadflow.core.notifications import notifications_create

MAX_MENTIONS = 50
_EMAIL_MENTION = re.compile(r"(?<![\w@])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)", re.UNICODE)


def note_mentions(
    workspace: Workspace, body: str, mention_ids: Iterable[object] | None = None
) -> list[int]:
    """The members of ``workspace`` this note mentions, as sorted user ids: ``@email`` and
    ``@Full Name`` in the text (case-insensitive, only members), and ``mention_ids``, each
    of which must be a member's user id (ValidationFailed naming ``mention_ids`` otherwise)."""
    members = list(
        Membership.objects.filter(workspace=workspace).values_list(
            "user_id", "user__email", "user__full_name"
        )
    )
    found: set[int] = set()
    lowered = body.casefold()
    emails = {match.casefold() for match in _EMAIL_MENTION.findall(body)}
    for user_id, email, full_name in members:
        if email.casefold() in emails or (
            full_name.strip() and _name_mentioned(lowered, full_name.strip().casefold())
        ):
            found.add(user_id)
    if mention_ids is not None:
        member_ids = {user_id for user_id, _, _ in members}
        ids = list(mention_ids)
        bad = [
            value
            for value in ids
            if isinstance(value, bool) or not isinstance(value, int) or value not in member_ids
        ]
        if bad:
            raise ValidationFailed(
                [FieldError("mention_ids", f"Not members of this workspace: {bad[:10]}.")]
            )
        found.update(ids)  # type: ignore[arg-type]
    if len(found) > MAX_MENTIONS:
        raise ValidationFailed([FieldError("body", f"At most {MAX_MENTIONS} mentions.")])
    return sorted(found)


def _name_mentioned(text: str, name: str) -> bool:
    """``@name`` in ``text``, not followed by another letter (``@Ann`` is not ``@Anna``)."""
    return re.search(rf"(?<![\w@])@{re.escape(name)}(?!\w)", text) is not None


@transaction.atomic
def note_add(
    *,
    workspace: Workspace,
    contact_id: int,
    body: str,
    actor: Actor,
    mention_ids: Iterable[object] | None = None,
    base_url: str = "",
) -> Activity:
    """Add a note to the contact's timeline (``note.added``), with its mentions (see the
    module): the activity, the mentioned members' notifications and their emails' task
    commit together or not at all."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed([FieldError("body", "A note needs some text.")])
    if len(body) > 10_000:
        raise ValidationFailed([FieldError("body", "At most 10,000 characters.")])
    contact = contact_for_write(workspace, contact_id, actor)
    mentions = note_mentions(workspace, body, mention_ids)
    note = activity_record(
        workspace=workspace,
        contact=contact,
        kind=ActivityKind.NOTE_ADDED,
        actor=actor,
        data=note_added_data(body=body, mentions=mentions),
    )
    told = [user_id for user_id in mentions if user_id != actor.user_id]
    if told:
        author = actor.user.display_name if actor.user else actor.label
        notifications_create(
            workspace=workspace,
            user_ids=told,
            kind=NotificationKind.MENTION,
            title=f"{author} mentioned you on {contact}",
            body=body[:1000],
            link=reverse(
                "contact_detail",
                kwargs={"workspace_slug": workspace.slug, "contact_id": contact.pk},
            ),
            contact_id=contact.pk,
            email=True,
            base_url=base_url,
        )
    return note
