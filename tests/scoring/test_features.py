"""Features read from the database as they were at each contact's cutoff."""

import datetime as dt
import uuid

import numpy as np
import pytest
from django.utils import timezone

from leadflow.contacts.models import Activity, Contact, CustomField
from leadflow.scoring.behaviour import like_pattern
from leadflow.scoring.features import features_build, labelled_dataset
from leadflow.scoring.models import ScoringProfile
from leadflow.tracking.models import Event
from tests.scoring.history import SITE, after_outcome_plant, history_make

pytestmark = pytest.mark.django_db


def column(dataset, name):
    return dataset.X[:, [spec.name for spec in dataset.specs].index(name)]


def test_activity_after_the_cutoff_changes_no_feature(workspace):
    labels = history_make(workspace, contacts=120)
    before = labelled_dataset(workspace)
    planted = after_outcome_plant(workspace, labels)
    after = labelled_dataset(workspace)
    assert planted > 100
    assert [spec.name for spec in after.specs] == [spec.name for spec in before.specs]
    np.testing.assert_array_equal(after.X, before.X)  # NaN equal to NaN
    np.testing.assert_array_equal(after.y, before.y)
    # ...while read "now" the same contacts do show the planted rows.
    won = sorted(pk for pk, y in labels.items() if y)
    now = features_build(workspace, contacts=won, cutoffs={})
    assert column(now, "custom.budget").min() == 999_999
    assert column(now, "title_executive").min() == 1


def test_windows_counts_and_recency_are_measured_from_each_contacts_cutoff(workspace):
    CustomField.objects.create(workspace=workspace, key="signed", label="Signed", field_type="date")
    ScoringProfile.objects.create(workspace=workspace, key_pages=["/pricing*", "*/demo"])
    cutoff = timezone.now() - dt.timedelta(days=100)
    one = Contact.objects.create(
        workspace=workspace, email="one@example.com", job_title="VP of Sales",
        custom_fields={"signed": (cutoff - dt.timedelta(days=10)).date().isoformat()},
    )  # fmt: skip
    other = Contact.objects.create(workspace=workspace, email="two@example.com")
    for days in (1, 5, 20, 60, 200):
        Event.objects.create(
            workspace=workspace, event_id=uuid.uuid4(), contact_id=one.pk, event_type="pageview",
            url=f"{SITE}/pricing/{days}", occurred_at=cutoff - dt.timedelta(days=days),
        )  # fmt: skip
    for days in (-3, 2):  # one after the cutoff, one before
        Event.objects.create(
            workspace=workspace, event_id=uuid.uuid4(), contact_id=one.pk, event_type="pageview",
            url=f"{SITE}/demo", occurred_at=cutoff - dt.timedelta(days=days),
        )  # fmt: skip
    Activity.objects.create(
        workspace=workspace, contact=one, kind="note.added",
        occurred_at=cutoff - dt.timedelta(days=3, hours=12),
    )  # fmt: skip
    data = features_build(workspace, contacts=[other.pk, one.pk], cutoffs={one.pk: cutoff})
    first = 0  # rows in ascending id order: ``one`` was created first
    assert column(data, "key_page./pricing*.7d")[first] == 2
    assert column(data, "key_page./pricing*.30d")[first] == 3
    assert column(data, "key_page./pricing*.90d")[first] == 4
    assert column(data, "key_page.*/demo.7d")[first] == 1
    assert column(data, "event.pageview.90d")[first] == 5
    assert column(data, "event.pageview.days_since")[first] == pytest.approx(1)
    assert column(data, "pages.distinct")[first] == 6
    assert column(data, "activity.note.added.7d")[first] == 1
    assert column(data, "activity.note.added.days_since")[first] == pytest.approx(3.5)
    assert column(data, "title_vice_president")[first] == 1
    assert column(data, "custom.signed")[first] == 10
    # the other contact, read now, has nothing before its cutoff
    assert column(data, "event.pageview.90d")[1] == 0
    assert np.isnan(column(data, "event.pageview.days_since")[1])


def test_another_workspaces_contacts_are_not_read(workspace, other_workspace):
    theirs = Contact.objects.create(workspace=other_workspace, email="x@example.com")
    ours = Contact.objects.create(workspace=workspace, email="y@example.com")
    data = features_build(workspace, contacts=[theirs.pk, ours.pk], cutoffs={})
    assert data.X.shape[0] == 1


def test_key_page_patterns_are_globs_not_regular_expressions():
    assert like_pattern("/pricing*") == "%/pricing%"
    assert like_pattern("100%_off") == "%://100\\%\\_off"
    assert like_pattern("https://acme.com/a.b") == "https://acme.com/a.b"
