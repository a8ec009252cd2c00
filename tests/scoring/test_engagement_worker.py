"""End to end through the real worker (django-tasks-db's ``db_worker``): a form
submission, and page views of an identified visitor, reach the contact's engagement score
after their commit, by the activity delivery and tracking's events listener."""

import time

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from leadflow.contacts.models import Contact
from leadflow.scoring.models import ScorePoint
from leadflow.scoring.selectors import engagement_breakdown
from tests.capture.conftest import PublicClient, lead_form  # noqa: F401
from tests.tracking.helpers import batch, event, send

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


def run_worker(seconds: float = 20) -> None:
    """Run the queue until nothing is left (deliveries may wait behind an older
    PostgreSQL transaction of another test database on a shared server)."""
    deadline = time.monotonic() + seconds
    while True:
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        if not DBTaskResult.objects.filter(status="READY").exists():
            return
        assert time.monotonic() < deadline, "tasks still waiting"
        time.sleep(0.2)


def test_a_form_submission_scores_its_contact_once_the_worker_delivers_it(lead_form):  # noqa: F811
    assert PublicClient(lead_form).submit().status_code == 201
    contact = Contact.objects.get()
    assert contact.engagement_score == 0  # nothing before the worker ran
    run_worker()
    contact.refresh_from_db()
    assert contact.engagement_score == 20
    lines = engagement_breakdown(contact.workspace, contact.pk).lines
    assert [(line.rule_name, line.count) for line in lines] == [("Form submitted", 1)]


def test_page_views_of_an_identified_visitor_reach_its_score(workspace):
    identify = event("identify", props={"email": "kim@initech.com", "first_name": "Kim"})
    assert send(batch(workspace, [identify], visitor="browser-kim")).status_code == 202
    run_worker()
    kim = Contact.objects.get(email="kim@initech.com")
    kim.refresh_from_db()
    assert kim.engagement_score == 5  # identified on the website
    pages = [event(url="https://www.acme-widgets.com/pricing"), event()]
    assert send(batch(workspace, pages, visitor="browser-kim")).status_code == 202
    run_worker()
    kim.refresh_from_db()
    assert kim.engagement_score == 5 + 2 + 10  # two page views, one of them pricing
    assert ScorePoint.objects.filter(contact_id=kim.pk).count() == 4
