"""Contact upsert throughput through the service against a bare INSERT, same run.

The service validates, normalises email/phone, matches the company by domain, dedupes,
writes the activity row and schedules duplicate detection, all in one transaction. The
baseline inserts an equivalent contact row with the ORM and nothing else.
"""

import os
import time


def _setup_database():
    import django
    from django.core.management import call_command
    from django.test.utils import setup_databases

    django.setup()
    if os.environ.get("DATABASE_URL"):
        return setup_databases(verbosity=0, interactive=False)
    call_command("migrate", verbosity=0)
    return None


def run(count: int = 2000) -> dict:
    _setup_database()
    from django.db import connection, transaction

    from leadflow.contacts.models import Contact
    from leadflow.contacts.services import contact_upsert
    from leadflow.core.actors import Actor
    from leadflow.core.services import workspace_create

    stamp = str(int(time.time() * 1000))
    workspace, _ = workspace_create(
        name=f"bench {stamp}",
        owner_email=f"b{stamp}@example.com",
        slug=f"bench-{stamp}",
        default_country="GB",
    )
    actor = Actor.system("bench")

    started = time.perf_counter()
    for number in range(count):
        with transaction.atomic():
            Contact.objects.create(
                workspace=workspace,
                email=f"bare{number}@initech.com",
                first_name="Bare",
                phone=f"+4420794{number:05d}",
            )
    bare = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for number in range(count):
        contact_upsert(
            workspace=workspace,
            actor=actor,
            data={
                "email": f"Lead{number}@Globex.com",
                "first_name": "Lead",
                "last_name": "Bench",
                "phone": f"020 7946 {number % 10000:04d}",
                "tags": ["bench"],
                "source": "google",
            },
        )
    service = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for number in range(count):  # the same emails again: every call is an update
        contact_upsert(
            workspace=workspace,
            actor=actor,
            data={
                "email": f"lead{number}@globex.com",
                "job_title": "Buyer",
            },
        )
    update = count / (time.perf_counter() - started)
    return {
        "database": connection.vendor,
        "rows": count,
        "bare_insert_per_s": round(bare),
        "upsert_create_per_s": round(service),
        "upsert_update_per_s": round(update),
        "create_ratio_vs_bare": round(service / bare, 3),
        "update_ratio_vs_bare": round(update / bare, 3),
    }
