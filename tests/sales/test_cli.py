"""`leadflow sales route` and `leadflow sales speed`: the open leads that came before the
first rule (or wait in a queue) are routed by the rules; the speed-to-lead table prints
what the report page shows."""

import datetime as dt

import pytest

from leadflow.cli import main
from leadflow.contacts.models import Contact
from leadflow.sales.models import Assignment, FirstTouch, Strategy, Trigger

pytestmark = pytest.mark.django_db


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_route_hands_the_open_leads_without_an_owner_to_the_rules(
    capsys, workspace, owner, salesperson, team_of, rule, lead
):
    early = [lead(), lead(), lead()]  # before any rule: nobody routed them
    owned = lead(owner_id=owner.pk)
    customer = lead(lifecycle_stage="customer")
    status, _, err = run(capsys, "sales", "route", "--workspace", workspace.slug)
    assert status == 1 and "no enabled routing rule" in err and len(err.splitlines()) == 1

    ann, bob = salesperson("ann"), salesperson("bob")
    team, _ = team_of("Inbound", [ann, bob])
    rule(Strategy.ROUND_ROBIN, team=team)
    status, out, _ = run(capsys, "sales", "route", "--workspace", workspace.slug, "--dry-run")
    assert (status, out.strip()) == (0, "3 open leads without an owner would be routed.")
    assert not Assignment.objects.exists()

    status, out, _ = run(capsys, "sales", "route", "--workspace", workspace.slug)
    assert status == 0 and "3 assigned, 0 queued" in out
    owners = [Contact.objects.get(pk=contact.pk).owner_id for contact in early]
    assert owners == [ann.pk, bob.pk, ann.pk]  # the rule's round robin
    assert Contact.objects.get(pk=owned.pk).owner_id == owner.pk
    assert Contact.objects.get(pk=customer.pk).owner_id is None  # not an open lead
    assert set(Assignment.objects.values_list("trigger", flat=True)) == {Trigger.MANUAL}
    # Again: nothing left to route.
    status, out, _ = run(capsys, "sales", "route", "--workspace", workspace.slug)
    assert "Routed 0 open leads" in out and Assignment.objects.count() == 3
    status, _, err = run(capsys, "sales", "route", "--workspace", "nope")
    assert status != 0 and "nope" in err and "Traceback" not in err


def test_speed_prints_each_persons_median_and_share_within_the_deadline(
    capsys, workspace, salesperson, lead
):
    ann = salesperson("ann")
    now = dt.datetime.now(dt.UTC)
    for minutes, within in ((4, True), (20, False)):
        contact = lead(owner_id=ann.pk)
        started = now - dt.timedelta(hours=2)
        assignment = Assignment.objects.create(
            workspace=workspace,
            contact=contact,
            owner=ann,
            reason="test",
            trigger=Trigger.CREATED,
            assigned_at=started,
        )
        FirstTouch.objects.create(
            workspace=workspace,
            contact=contact,
            assignment=assignment,
            owner=ann,
            started_at=started,
            due_at=started + dt.timedelta(minutes=15),
            touched_at=started + dt.timedelta(minutes=minutes),
            touched_by=ann,
            response_seconds=minutes * 60,
        )
    status, out, _ = run(capsys, "sales", "speed", "--workspace", workspace.slug, "--days", "7")
    assert status == 0
    lines = out.strip().splitlines()
    assert "median" in lines[0] and "in time" in lines[0]
    person = next(line for line in lines if line.startswith(ann.display_name[:28]))
    assert person.split()[-5:] == ["2", "2", "0:12:00", "0:18:24", "50%"]
    assert lines[-1].startswith("All leads")
