"""Exactly once under SIGKILL: `leadflow worker` processes send a few thousand marketing
emails to a real SMTP server (aiosmtpd, in this test) and are killed at random points,
again and again, and started again each time. Afterwards:

- no Message-ID reached the server twice (0 duplicates);
- every delivery is sent, skipped (no consent) or unknown (0 lost): every "sent" one was
  received, and nothing was received that is not sent or unknown;
- each unknown one is in the review list (``deliveries_unknown``).

The workers run on this test's own database (SQLite file or PostgreSQL), with a short
lease so a killed run's deliveries come back quickly.
"""

import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from django.db import connection

from leadflow.contacts.models import Activity
from leadflow.nurture.models import Delivery
from leadflow.nurture.selectors.email import deliveries_unknown
from leadflow.nurture.services import sending
from leadflow.nurture.services.tracking import sent_record
from leadflow.nurture.tracking_kinds import EMAIL_SENT
from tests.nurture import sending_kit

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS = 1500
NO_CONSENT_EVERY = 10  # one contact in ten has no consent: skipped
KILLS = 8
DEADLINE_SECONDS = 150


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"


def worker_start() -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DATABASE_URL=database_url(),
        PYTHONUNBUFFERED="1",
        LEADFLOW_DELIVERY_LEASE_SECONDS="2",
        LEADFLOW_DELIVERY_BATCH="20",
        LEADFLOW_WORKER_POLL_SECONDS="0.05",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "leadflow", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def unsettled(message) -> int:
    return Delivery.objects.filter(message=message, status__in=["queued", "in_flight"]).count()


def test_killed_workers_send_each_email_at_most_once_and_lose_none(workspace):
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    # The server keeps each email and answers 10 ms later: most kills land between the
    # two, the case that must end as unknown, never as a second send.
    controller, inbox = sending_kit.smtp_server(answer_delay=0.01)
    workers: list[subprocess.Popen] = []
    try:
        message = sending_kit.message_make(workspace, port=controller.port)
        consent = lambda i: "unknown" if i % NO_CONSENT_EVERY == 0 else "granted"  # noqa: E731
        ids = sending_kit.contacts_make(workspace, CONTACTS, consent=consent)
        assert sending.message_send(message=message, contact_ids=ids) == CONTACTS

        workers = [worker_start(), worker_start()]
        kills = 0
        random_points = random.Random()
        started = time.monotonic()
        while time.monotonic() - started < DEADLINE_SECONDS and unsettled(message):
            if kills < KILLS:
                # Kill while emails are going out (a started worker takes about a second):
                # once some more have been sent, at a random moment soon after.
                before = unsettled(message)
                while unsettled(message) > before - 15 and time.monotonic() - started < 60:
                    time.sleep(0.02)
                time.sleep(random_points.uniform(0, 0.3))
                victim = random_points.randrange(len(workers))
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                workers[victim] = worker_start()
                kills += 1
            else:
                time.sleep(0.2)
        assert unsettled(message) == 0, "the workers did not finish in time"
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        controller.stop()

    assert kills == KILLS
    received = Counter(m["Message-ID"] for m in inbox.messages())
    duplicates = {mid: n for mid, n in received.items() if n > 1}
    assert duplicates == {}

    rows = list(
        Delivery.objects.filter(message=message).values("id", "status", "header_message_id")
    )
    statuses = Counter(row["status"] for row in rows)
    assert set(statuses) <= {"sent", "skipped", "unknown"}
    assert len(rows) == CONTACTS
    assert statuses["skipped"] == len(range(0, CONTACTS, NO_CONSENT_EVERY))
    sent = {row["header_message_id"] for row in rows if row["status"] == "sent"}
    unknown = {row["header_message_id"] for row in rows if row["status"] == "unknown"}
    assert sent <= set(received), "a delivery recorded as sent never reached the server"
    assert set(received) <= sent | unknown, "the server got an email recorded as neither"
    listed = set(deliveries_unknown(workspace).values_list("id", flat=True))
    assert listed == {row["id"] for row in rows if row["status"] == "unknown"}
    # Each sent email is on its person's timeline exactly once: what a killed run marked
    # sent but did not record, a later run records (here the last catch-up).
    sent_record(message_pk=message.pk)
    on_timeline = Counter(
        Activity.objects.filter(kind=EMAIL_SENT).values_list("data__delivery_id", flat=True)
    )
    assert on_timeline == Counter(row["id"] for row in rows if row["status"] == "sent")
    print(
        f"\n{connection.vendor}: {kills} kills, {statuses['sent']} sent, "
        f"{statuses['skipped']} skipped, {statuses['unknown']} unknown "
        f"({len(unknown & set(received))} of them received), {len(received)} received"
    )
