"""The contact page of a contact with 10,000 tracked events, against one with none.

The page shows the timeline (activities and visits, newest first, paged); its cost must
not grow with the contact's history. Rows are written set-based (bulk_create). Median of
repeated renders through Django's test client, logged in as the owner.
"""

import datetime as dt
import os
import statistics
import time
import uuid


def run(events: int = int(os.environ.get("BENCH_TIMELINE_EVENTS", "10000"))) -> dict:
    from bench_upsert import _setup_database

    _setup_database()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor
    from leadflow.core.models import Membership
    from leadflow.core.services import workspace_create
    from leadflow.tracking.models import Event, Visitor, VisitSession

    stamp = str(int(time.time() * 1000))
    workspace, owner = workspace_create(
        name=f"timeline {stamp}",
        slug=f"t-{stamp}",
        owner_email=f"t{stamp}@example.com",
        owner_password="bench-password-123",
    )
    actor = Actor.system("bench")
    busy = contact_upsert(
        workspace=workspace, actor=actor, data={"email": f"busy{stamp}@initech.com"}
    ).contact
    quiet = contact_upsert(
        workspace=workspace, actor=actor, data={"email": f"quiet{stamp}@initech.com"}
    ).contact
    visitor = Visitor.objects.create(
        workspace=workspace, visitor_key=f"bench-{stamp}", contact=busy
    )
    now = timezone.now()
    per_visit = 20
    visits = VisitSession.objects.bulk_create(
        [
            VisitSession(
                workspace=workspace,
                visitor=visitor,
                session_key=f"s-{stamp}-{n}",
                contact=busy,
                started_at=now - dt.timedelta(hours=n + 1),
                last_event_at=now - dt.timedelta(hours=n + 1) + dt.timedelta(minutes=10),
                landing_page="https://www.example.com/",
                channel="organic_search",
                source="google",
                medium="organic",
                pageviews=per_visit,
            )
            for n in range(events // per_visit)
        ]
    )
    started = time.perf_counter()
    Event.objects.bulk_create(
        [
            Event(
                workspace=workspace,
                event_id=uuid.uuid4(),
                visitor_id=visitor.pk,
                session_id=visit.pk,
                contact_id=busy.pk,
                event_type="pageview",
                url=f"https://www.example.com/page-{n}",
                occurred_at=visit.started_at + dt.timedelta(seconds=20 * n),
            )
            for visit in visits
            for n in range(per_visit)
        ],
        batch_size=2000,
    )
    seed_seconds = time.perf_counter() - started
    Membership.objects.get(workspace=workspace, user=owner)
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)

    def median_ms(contact_id: int, repeat: int = 15) -> float:
        url = f"/w/{workspace.slug}/contacts/{contact_id}/"
        client.get(url)  # warm up
        samples = []
        for _ in range(repeat):
            begin = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, response.status_code
        return statistics.median(samples)

    busy_ms, quiet_ms = median_ms(busy.pk), median_ms(quiet.pk)
    return {
        "database": connection.vendor,
        "events": events,
        "visits": len(visits),
        "seed_s": round(seed_seconds, 1),
        "contact_page_ms_10k_events": round(busy_ms, 1),
        "contact_page_ms_no_events": round(quiet_ms, 1),
        "ratio_busy_vs_quiet": round(busy_ms / quiet_ms, 2),
        "target_ms": 200,
    }
