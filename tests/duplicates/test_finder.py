"""The duplicate finder on the database: checked as contacts arrive and change (the activity
subscriber), after imports, over a whole workspace; decisions remembered and learned from;
automatic merging only when turned on; every pair and decision inside its workspace."""

import io
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest

from leadflow.contacts.activity_log import activities_deliver
from leadflow.contacts.models import Contact
from leadflow.contacts.services import contact_merge, contact_update, contact_upsert
from leadflow.core.actors import Actor
from leadflow.core.errors import NotFound, ValidationFailed
from leadflow.duplicates import learning, selectors, services
from leadflow.duplicates.model import LIST_THRESHOLD, MATCH_THRESHOLD
from leadflow.duplicates.models import (
    DuplicateDecision,
    DuplicateKey,
    DuplicatePair,
    DuplicateProfile,
    FoundBy,
    PairStatus,
)
from leadflow.duplicates.scan import duplicates_scan


def add(workspace, **data):
    return contact_upsert(workspace=workspace, actor=Actor.system(), data=data).contact


def deliver(workspace):
    """Everything new delivered, waiting out another test database's transactions on a
    shared PostgreSQL server (they hold the log's commit order back, decision 0018)."""
    deadline = time.monotonic() + 20
    while activities_deliver(workspace_id=workspace.pk).behind:
        assert time.monotonic() < deadline, "the delivery stayed behind"
        time.sleep(0.05)


def pair_of(one, two):
    low, high = sorted([one.pk, two.pk])
    return DuplicatePair.objects.filter(contact_id=low, other_id=high).first()


def jon_and_john(workspace):
    jon = add(
        workspace,
        email="jon.smith@initech.com",
        first_name="Jon",
        last_name="Smith",
        phone="+442079460123",
        postal_code="SW1A 1AA",
    )
    john = add(
        workspace,
        email="johnsmith@gmail.com",
        first_name="John",
        last_name="Smith",
        phone="+442079460123",
        postal_code="SW1A1AA",
    )
    return jon, john


def test_a_new_contact_is_checked_by_the_subscriber_and_explained(workspace):
    jon, john = jon_and_john(workspace)
    stranger = add(workspace, email="ann@globex.com", first_name="Ann", last_name="Lee")
    assert not DuplicatePair.objects.exists()  # found by the worker, after the commit
    deliver(workspace)
    pair = DuplicatePair.objects.get()
    assert (pair.contact_id, pair.other_id) == (jon.pk, john.pk)
    assert pair.probability >= MATCH_THRESHOLD
    assert pair.found_by == FoundBy.CHANGE and pair.status == PairStatus.OPEN
    assert "phone" in pair.reasons and "Jon" in pair.reasons and "John" in pair.reasons
    assert pair.levels["phone"] > 0 and pair.levels["first_name"] > 0
    assert DuplicateKey.objects.filter(contact=stranger).exists()  # keyed for later checks
    deliver(workspace)  # nothing new: nothing changes
    assert DuplicatePair.objects.count() == 1


def test_a_changed_contact_is_checked_again_and_a_pair_that_no_longer_holds_leaves(
    workspace, owner_actor
):
    jon, john = jon_and_john(workspace)
    deliver(workspace)
    assert pair_of(jon, john) is not None
    contact_update(
        workspace=workspace,
        contact_id=john.pk,
        actor=owner_actor,
        data={
            "first_name": "Maria",
            "last_name": "Garcia",
            "phone": "+34911234567",
            "postal_code": "28013",
        },
    )
    deliver(workspace)
    assert pair_of(jon, john) is None


def test_a_dismissed_pair_never_returns(workspace, owner_actor):
    jon, john = jon_and_john(workspace)
    deliver(workspace)
    pair = pair_of(jon, john)
    services.pair_dismiss(workspace=workspace, pair_id=pair.pk, actor=owner_actor)
    assert not selectors.pair_list(workspace, owner_actor).exists()
    contact_update(
        workspace=workspace, contact_id=john.pk, actor=owner_actor, data={"job_title": "CEO"}
    )
    deliver(workspace)
    duplicates_scan(workspace=workspace)
    pair.refresh_from_db()
    assert pair.status == PairStatus.DISMISSED
    assert not selectors.pair_list(workspace, owner_actor).exists()
    decision = DuplicateDecision.objects.get()
    assert decision.is_duplicate is False and decision.levels == pair.levels
    again = services.pair_dismiss(workspace=workspace, pair_id=pair.pk, actor=owner_actor)
    assert again.status == PairStatus.DISMISSED  # a retry changes nothing
    assert DuplicateDecision.objects.count() == 1


def test_merging_a_pair_keeps_one_contact_and_a_labelled_example(workspace, owner_actor):
    jon, john = jon_and_john(workspace)
    deliver(workspace)
    pair = pair_of(jon, john)
    kept = services.pair_merge(workspace=workspace, pair_id=pair.pk, actor=owner_actor)
    assert kept == jon.pk  # the older contact stays by default
    assert list(Contact.objects.filter(workspace=workspace).values_list("pk", flat=True)) == [
        jon.pk
    ]
    assert not DuplicatePair.objects.exists()
    decision = DuplicateDecision.objects.get()
    assert decision.is_duplicate and (decision.contact_id, decision.other_id) == (
        jon.pk,
        john.pk,
    )
    assert decision.decided_by == owner_actor.label


def test_merge_into_a_contact_outside_the_pair_is_refused(workspace, owner_actor):
    jon, john = jon_and_john(workspace)
    other = add(workspace, email="x@globex.com")
    deliver(workspace)
    pair = pair_of(jon, john)
    with pytest.raises(ValidationFailed):
        services.pair_merge(
            workspace=workspace, pair_id=pair.pk, actor=owner_actor, primary_id=other.pk
        )
    assert Contact.objects.filter(workspace=workspace).count() == 3


def test_a_merge_made_on_the_contact_page_is_learned_too(workspace, owner_actor):
    jon, john = jon_and_john(workspace)
    deliver(workspace)
    contact_merge(workspace=workspace, primary_id=john.pk, secondary_id=jon.pk, actor=owner_actor)
    decision = DuplicateDecision.objects.get()
    assert decision.is_duplicate and decision.levels["phone"] > 0


def _same_company_namesakes(workspace, count, batch=""):
    """Pairs that share a last name, company and city but are different people."""
    pairs = []
    for number in range(count):
        one = add(
            workspace,
            email=f"a{batch}{number}@initech.com",
            first_name="Alex",
            last_name=f"Novak{batch}{number}",
            city="Leeds",
            postal_code=f"LS{number} 1AA",
        )
        two = add(
            workspace,
            email=f"b{batch}{number}@initech.com",
            first_name="Alexa",
            last_name=f"Novak{batch}{number}",
            city="Leeds",
            postal_code=f"LS{number} 1AA",
        )
        pairs.append((one, two))
    return pairs


def test_decisions_move_the_weights_the_expected_way(workspace, owner_actor):
    pairs = _same_company_namesakes(workspace, 4)
    deliver(workspace)
    listed = [pair_of(one, two) for one, two in pairs]
    assert all(pair is not None for pair in listed)
    before = [pair.probability for pair in listed]
    for pair in listed[:3]:
        services.pair_dismiss(workspace=workspace, pair_id=pair.pk, actor=owner_actor)
    learning.weights_refit(workspace=workspace)
    last = pair_of(*pairs[3])
    assert last.probability < before[3]  # the team said such pairs are different people
    profile = DuplicateProfile.objects.get(workspace=workspace)
    assert profile.weights["labelled_pairs"] == 3


def test_merges_raise_the_probability_of_similar_pairs(workspace, owner_actor):
    pairs = _same_company_namesakes(workspace, 4)
    deliver(workspace)
    listed = [pair_of(one, two) for one, two in pairs]
    before = listed[3].probability
    assert before < 1
    for pair in listed[:3]:
        services.pair_merge(workspace=workspace, pair_id=pair.pk, actor=owner_actor)
    learning.weights_refit(workspace=workspace)
    last = pair_of(*pairs[3])
    assert last.probability > before  # the team said such pairs are one person


def test_a_whole_workspace_scan_lists_learns_and_keeps_decisions(workspace, owner_actor):
    jon, john = jon_and_john(workspace)
    peggy = add(
        workspace,
        email="peggy.olson@sterling.com",
        first_name="Peggy",
        last_name="Olson",
        date_of_birth="1990-04-12",
    )
    margaret = add(
        workspace,
        email="molson@gmail.com",
        first_name="Margaret",
        last_name="Olson",
        date_of_birth="1990-04-12",
    )
    for number in range(30):
        add(workspace, email=f"p{number}@example.com", first_name=f"P{number}", last_name="Q")
    result = duplicates_scan(workspace=workspace)
    assert result.contacts == 34 and result.candidates >= 2
    assert pair_of(jon, john).found_by == FoundBy.SCAN
    assert pair_of(peggy, margaret) is not None  # a nickname and the same birth date
    assert "Peggy" in pair_of(peggy, margaret).reasons
    profile = DuplicateProfile.objects.get(workspace=workspace)
    assert profile.weights and profile.scan_finished_at and profile.scan_pairs == result.listed
    assert DuplicateKey.objects.filter(workspace=workspace).count() == result.keys
    again = duplicates_scan(workspace=workspace)
    assert again.listed == result.listed and again.removed == 0  # safe to run twice


def test_the_cli_scan_prints_progress_and_a_summary(workspace):
    from leadflow.cli import main

    jon_and_john(workspace)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["duplicates", "scan", "--workspace", workspace.slug]) == 0
    assert "Scanned 2 contacts" in out.getvalue() and "1 listed for review" in out.getvalue()
    assert "comparing" in err.getvalue()


def test_automatic_merging_is_off_by_default_and_recorded_when_on(workspace, owner_actor):
    jon_and_john(workspace)
    deliver(workspace)
    assert Contact.objects.filter(workspace=workspace).count() == 2  # off: listed only
    with pytest.raises(ValidationFailed):
        services.profile_update(
            workspace=workspace, actor=owner_actor, auto_merge=True, auto_merge_threshold=0.5
        )
    services.profile_update(
        workspace=workspace, actor=owner_actor, auto_merge=True, auto_merge_threshold=0.95
    )
    twin = add(
        workspace,
        email="j.smith@initech.com",
        first_name="Jon",
        last_name="Smith",
        phone="+442079460123",
        postal_code="SW1A 1AA",
    )
    deliver(workspace)
    assert not Contact.objects.filter(pk=twin.pk).exists() or (
        Contact.objects.filter(workspace=workspace).count() < 3
    )
    automatic = selectors.decisions_recent(workspace, automatic=True)
    assert automatic.exists() and all(decision.is_duplicate for decision in automatic)
    assert automatic.first().decided_by == "automatic merge"


def test_bulk_merge_previews_first_then_merges_each_pair_once(workspace, owner_actor):
    pairs = [jon_and_john(workspace)]
    pairs.append(
        (
            add(workspace, email="a1@x.com", first_name="Bill", last_name="Turner",
                phone="+442079460999"),
            add(workspace, email="wturner@y.com", first_name="William", last_name="Turner",
                phone="+442079460999"),
        )
    )  # fmt: skip
    deliver(workspace)
    plan = services.pairs_merge_above(
        workspace=workspace, actor=owner_actor, threshold=LIST_THRESHOLD, preview=True
    )
    assert len(plan.pairs) == 2 and Contact.objects.filter(workspace=workspace).count() == 4
    done = services.pairs_merge_above(
        workspace=workspace, actor=owner_actor, threshold=LIST_THRESHOLD, preview=False
    )
    assert done.merged == 2 and Contact.objects.filter(workspace=workspace).count() == 2
    again = services.pairs_merge_above(
        workspace=workspace, actor=owner_actor, threshold=LIST_THRESHOLD, preview=False
    )
    assert again.merged == 0  # a second click finds nothing left
    with pytest.raises(ValidationFailed):
        services.pairs_merge_above(workspace=workspace, actor=owner_actor, threshold=0.1)


def test_pairs_and_decisions_stay_in_their_workspace(workspace, other_workspace, owner_actor):
    jon, john = jon_and_john(workspace)
    add(other_workspace, email="jon.smith@initech.com", first_name="Jon", last_name="Smith",
        phone="+442079460123")  # fmt: skip
    deliver(workspace)
    deliver(other_workspace)
    pair = pair_of(jon, john)
    assert DuplicatePair.objects.count() == 1  # never across workspaces
    other_actor = Actor.system()
    with pytest.raises(NotFound):
        services.pair_dismiss(workspace=other_workspace, pair_id=pair.pk, actor=other_actor)
    with pytest.raises(NotFound):
        services.pair_merge(workspace=other_workspace, pair_id=pair.pk, actor=other_actor)
    assert not selectors.pair_list(other_workspace, other_actor).exists()
    assert not DuplicateDecision.objects.exists()


def test_a_key_shared_by_more_contacts_than_its_cap_finds_nothing_and_one_at_the_cap_does(
    workspace,
):
    from leadflow.duplicates.blocking import BLOCK_CAP
    from leadflow.duplicates.services import _candidates

    crowded = [f"{900000 + n}" for n in range(BLOCK_CAP + 1)]
    DuplicateKey.objects.bulk_create(
        [DuplicateKey(workspace=workspace, contact_id=int(pk), key="e:crowded") for pk in crowded]
        + [
            DuplicateKey(workspace=workspace, contact_id=800000 + n, key="e:full")
            for n in range(BLOCK_CAP)
        ]
    )
    found = _candidates(workspace, {900000: ["e:crowded"], 800000: ["e:full"]})
    assert 900000 not in found  # too common to say anything
    assert found[800000] == {800000 + n for n in range(BLOCK_CAP)}
