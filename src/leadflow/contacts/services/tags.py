"""Tags on contacts: attach, replace and create by name."""

from django.db import connection

from leadflow.contacts.models import (
    Contact,
    Tag,
)
from leadflow.core.models import Workspace


def tags_add(workspace: Workspace, contact: Contact, names: list[str]) -> list[str]:
    """Attach tags by name (created when missing); returns the names newly attached.

    One INSERT ... SELECT ... RETURNING in the common case where the tags exist.
    """
    if not names:
        return []
    attached = _tags_link(workspace, contact, names)
    if len(attached) + _tags_linked_before(attached, names, contact) < len(names):
        Tag.objects.bulk_create(
            [Tag(workspace=workspace, name=name) for name in names], ignore_conflicts=True
        )
        attached += _tags_link(workspace, contact, names)
    return [name for name in names if name in set(attached)]


def _tags_link(workspace: Workspace, contact: Contact, names: list[str]) -> list[str]:
    through = Contact.tags.through._meta.db_table
    tag_table = Tag._meta.db_table
    marks = ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {through} (contact_id, tag_id) "  # noqa: S608 - table names only
            f"SELECT %s, id FROM {tag_table} WHERE workspace_id = %s AND name IN ({marks}) "
            "ON CONFLICT DO NOTHING RETURNING tag_id",
            [contact.pk, workspace.pk, *names],
        )
        tag_ids = [row[0] for row in cursor.fetchall()]
    if not tag_ids:
        return []
    return (
        list(Tag.objects.filter(pk__in=tag_ids).values_list("name", flat=True))
        if len(tag_ids) != len(names)
        else list(names)
    )


def _tags_linked_before(attached: list[str], names: list[str], contact: Contact) -> int:
    """How many of ``names`` the contact already had (only asked when some were missing)."""
    rest = [name for name in names if name not in set(attached)]
    if not rest:
        return 0
    return contact.tags.filter(name__in=rest).count()


def tags_replace(workspace: Workspace, contact: Contact, names: list[str]) -> dict:
    current = set(contact.tags.values_list("name", flat=True))
    wanted = set(names)
    added = tags_add(workspace, contact, sorted(wanted - current))
    removed = sorted(current - wanted)
    if removed:
        contact.tags.remove(*Tag.objects.filter(workspace=workspace, name__in=removed))
    result = {}
    if added:
        result["tags_added"] = added
    if removed:
        result["tags_removed"] = removed
    return result


def tags_ensure(*, workspace: Workspace, names: list[str]) -> None:
    """Create the named tags when missing (a form's tags exist before its first lead)."""
    names = list(dict.fromkeys(name.strip()[:60] for name in names if name.strip()))
    if names:
        Tag.objects.bulk_create(
            [Tag(workspace=workspace, name=name) for name in names], ignore_conflicts=True
        )
