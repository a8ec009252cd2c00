"""`leadflow scoring rescore`: one workspace or all, and `leadflow maintain` refreshes decay."""

import pytest

from leadflow.cli import main
from tests.scoring.engagement_helpers import event, new_contact, only_rules, rule, score

pytestmark = pytest.mark.django_db


def test_rescore_recomputes_a_workspace_and_says_how_many(workspace, capsys):
    only_rules(workspace)
    rule(workspace, points=3)
    ada = new_contact(workspace)
    event(workspace, ada, at=_now())
    assert main(["scoring", "rescore", "--workspace", workspace.slug]) == 0
    assert f"Rescored 1 contacts of {workspace.slug} in" in capsys.readouterr().out
    assert score(ada) == 3


def test_rescore_all_and_maintain_refresh_every_workspace(workspace, other_workspace, capsys):
    only_rules(other_workspace)
    rule(other_workspace, points=4)
    bob = new_contact(other_workspace, "bob@example.com")
    event(other_workspace, bob, at=_now())
    assert main(["scoring", "rescore", "--all"]) == 0
    assert "Rescored 2 workspaces" in capsys.readouterr().out
    assert score(bob) == 4
    assert main(["maintain"]) == 0
    assert "Workspaces rescored (engagement decay): 2." in capsys.readouterr().out


def test_rescore_needs_a_known_workspace_or_all(db, capsys):
    assert main(["scoring", "rescore", "--workspace", "nope"]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["scoring", "rescore"]) == 2


def _now():
    from django.utils import timezone

    return timezone.now()
