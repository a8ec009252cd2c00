"""What lf.js sends is what POST /e accepts, and the script stays small.

tests/tracking/fixtures/lf_batch.json is a batch Chromium sent in test_tracker_e2e (its first
page view, with the visit's origin); that test checks the script still sends this shape.
"""

import copy
import gzip
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.contrib.staticfiles import finders

from leadflow.tracking.models import Event, Visitor, VisitSession

from .helpers import send

FIXTURE = Path(__file__).parent / "fixtures" / "lf_batch.json"
SIZE_LIMIT = 6 * 1024


def test_the_tracker_is_under_6_kb_gzipped():
    path = finders.find("leadflow/lf.js")
    assert path and path.endswith("tracking/static/leadflow/lf.js")
    size = len(gzip.compress(Path(path).read_bytes(), compresslevel=9))
    assert size < SIZE_LIMIT, f"lf.js is {size} bytes gzipped"


def _fixture_batch(workspace) -> tuple[dict, str]:
    """The captured batch for this workspace, its times moved to now (the server takes
    the last 7 days), and the site it came from."""
    batch = json.loads(FIXTURE.read_text())
    batch["key"] = workspace.public_key
    shift = int(time.time() * 1000) - max(event["ts"] for event in batch["events"])
    for event in batch["events"]:
        event["ts"] += shift
    site = urlsplit(batch["events"][0]["url"])
    return batch, f"{site.scheme}://{site.netloc}"


def test_the_script_batch_is_accepted(workspace):
    batch, origin = _fixture_batch(workspace)
    workspace.allowed_origins = [origin]
    workspace.save()
    response = send(batch, origin=origin)  # text/plain, as sendBeacon posts it
    assert response.status_code == 202, response.content
    assert response.json() == {
        "accepted": len(batch["events"]),
        "duplicates": 0,
        "rejected": 0,
        "errors": [],
    }
    assert Visitor.objects.get().visitor_key == batch["visitor_id"]
    visit = VisitSession.objects.get()
    assert visit.session_key == batch["session_id"]
    assert (visit.channel, visit.source, visit.medium, visit.campaign) == (
        "paid_search",
        "google",
        "cpc",
        "spring",
    )
    assert visit.click_ids == {"gclid": "abc"}

    # The script sends a batch again when it never heard the answer: stored once.
    again = send(copy.deepcopy(batch), origin=origin)
    assert again.status_code == 202
    assert again.json()["duplicates"] == len(batch["events"])
    assert Event.objects.count() == len(batch["events"])


def test_the_script_batch_from_a_site_not_allowed(workspace):
    batch, origin = _fixture_batch(workspace)
    workspace.allowed_origins = ["https://www.acme-widgets.com"]
    workspace.save()
    response = send(batch, origin=origin)
    assert response.status_code == 403
    assert not Event.objects.exists()
