"""The import's writer announces what it appends (issue 11, the activity log's spine): one
announcement per chunk's transaction, after its commit, naming exactly the contacts that got
activities in it, up to the highest activity id it wrote; a chunk that writes nothing
announces nothing. On both databases, and on PostgreSQL through the pipelined writer too."""

import pytest
from django.db import transaction

from leadflow.contacts.activity_log import ANNOUNCEMENT_SUBSCRIBERS
from leadflow.contacts.models import Activity
from leadflow.contacts.services import contact_upsert
from leadflow.core.actors import Actor
from leadflow.imports import run as import_runner
from tests.imports.test_import import (
    HEADER,
    committing,
    pipelined,  # noqa: F401 - a fixture
    postgresql_only,
    run,
    write,
)

ROWS = (
    "a@initech.com,A,,,,\n"  # chunk 1: two new contacts
    "b@initech.com,B,,,,\n"
    "kim@initech.com,Kim,,,,vip\n"  # chunk 2: an existing contact changed, then found again
    "kim@initech.com,Kim,,,,vip\n"
    "a@initech.com,A,,,,\n"  # chunk 3: nothing new: nothing written, nothing announced
    "b@initech.com,B,,,,\n"
)


@pytest.fixture
def heard():
    heard = []
    ANNOUNCEMENT_SUBSCRIBERS.append(heard.append)
    yield heard
    ANNOUNCEMENT_SUBSCRIBERS.remove(heard.append)


def _import_and_compare(workspace, owner_actor, tmp_path, heard):
    kim = contact_upsert(
        workspace=workspace, actor=Actor.system(), data={"email": "kim@initech.com"}
    ).contact
    before = Activity.objects.order_by("-id").values_list("id", flat=True).first()
    heard.clear()  # what the set-up announced, if anything, is not the import's
    job = run(workspace, owner_actor, write(tmp_path, HEADER + ROWS))
    assert (job.status, job.created_count, job.updated_count, job.skipped_count) == (
        "done",
        2,
        1,
        3,
    )
    written = list(
        Activity.objects.filter(pk__gt=before).order_by("id").values_list("id", "contact_id")
    )
    assert {workspace.pk} == {announcement.workspace_id for announcement in heard}
    # Each announcement covers the activities after the previous one, up to its own id.
    assert [announcement.up_to_id for announcement in heard] == sorted(
        {announcement.up_to_id for announcement in heard}
    )
    start, seen = before, []
    for announcement in heard:
        chunk = [(pk, contact) for pk, contact in written if start < pk <= announcement.up_to_id]
        assert chunk and chunk[-1][0] == announcement.up_to_id
        assert announcement.contact_ids == {contact for _, contact in chunk}
        seen += chunk
        start = announcement.up_to_id
    assert seen == written  # every activity the import wrote, announced once
    new = set(
        Activity.objects.filter(pk__gt=before, data__created=True).values_list(
            "contact_id", flat=True
        )
    )
    assert [set(announcement.contact_ids) for announcement in heard] == [new, {kim.pk}]


@committing
def test_each_chunk_announces_its_activities_once_after_its_commit(
    workspace, owner_actor, tmp_path, heard, monkeypatch
):
    monkeypatch.setattr(import_runner, "CHUNK_SIZE", 2)
    _import_and_compare(workspace, owner_actor, tmp_path, heard)


@postgresql_only
@committing
def test_the_pipelined_writer_announces_each_chunk_too(
    workspace,
    owner_actor,
    tmp_path,
    heard,
    pipelined,  # noqa: F811 - the fixture
):
    calls = pipelined(2)
    _import_and_compare(workspace, owner_actor, tmp_path, heard)
    assert calls == [0]


@committing
def test_a_rolled_back_import_announces_nothing(workspace, owner_actor, tmp_path, heard):
    """Inside a caller's transaction that is rolled back, the chunks' announcements go
    nowhere (they wait for a commit that never comes)."""
    with pytest.raises(RuntimeError), transaction.atomic():
        assert run(workspace, owner_actor, write(tmp_path, HEADER + ROWS)).created_count == 3
        raise RuntimeError("the caller changes its mind")
    assert heard == []
    with transaction.atomic():  # committed: one announcement for the whole transaction
        run(workspace, owner_actor, write(tmp_path, HEADER + ROWS))
    assert [len(announcement.contact_ids) for announcement in heard] == [3]
