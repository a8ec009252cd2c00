"""The salesperson's queue ("My leads") at 1,000,000 contacts and 100 salespeople against
the same queue at 1,000 contacts: the first page of one salesperson's queue.

Target: under 200 ms at 1,000,000 contacts (about 10,000 leads per salesperson). The rows
are bounded by the owner index and sorted by a top-N sort (docs/sales/queue.md). Contacts
are generated set-based with bench_contact_list's generator, then given owners, a
temperature and a probability by one UPDATE each. Set LEADFLOW_BENCH_QUEUE_CONTACTS to
change the large size.

Measured 6 December 2026 (x86_64, 2 cores shared, private PostgreSQL, 10,000 open leads
for the salesperson): the first page (selector and its row decoration) 43.6 ms at
1,000,000 contacts against 17.7 ms at 1,000 (2.5x); through the API 42.5 ms against 22.7
ms (1.9x). SQLite at 20,000 contacts: 1.07x.
"""

import os
import statistics
import time

SALESPEOPLE = 100


def _spread(workspace_id: int, user_ids: list[int]) -> None:
    """Owners round robin over ``user_ids``, a temperature and a probability per contact."""
    from django.db import connection

    first = min(user_ids)  # the users are made in a row: ids first .. first + 99
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE contacts_contact SET
                owner_id = {first} + (id %% {len(user_ids)}),
                temperature = CASE id %% 7 WHEN 0 THEN 'hot' WHEN 1 THEN 'warm'
                    WHEN 2 THEN 'warm' ELSE 'cold' END,
                conversion_probability = CASE WHEN id %% 3 = 0 THEN NULL
                    ELSE (id %% 1000) / 1000.0 END
            WHERE workspace_id = %s
            """,
            [workspace_id],
        )
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE contacts_contact")


def _time(call, repeat: int = 20) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run() -> dict:
    from bench_contact_list import _seed
    from bench_upsert import _setup_database

    _setup_database()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from leadflow.core.actors import Actor
    from leadflow.core.models import Membership, Role
    from leadflow.core.services import apikey_create, workspace_create
    from leadflow.sales import selectors

    large = int(os.environ.get("LEADFLOW_BENCH_QUEUE_CONTACTS", "1000000"))
    stamp = str(int(time.time() * 1000))
    client = Client(HTTP_HOST="localhost")
    result: dict = {"database": connection.vendor, "large_contacts": large}
    timings = {}
    for label, count in (("small", 1000), ("large", large)):
        workspace, _ = workspace_create(
            name=f"queue {label} {stamp}",
            slug=f"q-{label}-{stamp}",
            owner_email=f"q{label}{stamp}@example.com",
        )
        users = get_user_model().objects.bulk_create(
            [
                get_user_model()(email=f"s{n}-{label}-{stamp}@example.com")
                for n in range(SALESPEOPLE)
            ]
        )
        Membership.objects.bulk_create(
            [Membership(workspace=workspace, user=user, role=Role.SALES) for user in users]
        )
        ids = sorted(user.pk for user in users)
        assert ids[-1] - ids[0] == SALESPEOPLE - 1
        _, secret = apikey_create(
            workspace=workspace, name="bench", scopes=None, actor=Actor.system()
        )
        started = time.perf_counter()
        _seed(workspace.pk, count, 0)
        _spread(workspace.pk, ids)
        result[f"seed_{label}_s"] = round(time.perf_counter() - started, 1)
        seller = ids[7]

        def page(workspace=workspace, seller=seller):
            queue = selectors.my_leads(workspace, seller)
            found = selectors.my_leads_page(queue, cursor=None, limit=50)
            return selectors.my_leads_rows(workspace, found.items)

        headers = {"Authorization": f"Bearer {secret}"}

        def api(seller=seller, headers=headers):
            answer = client.get(f"/api/v1/my-leads?user_id={seller}", headers=headers)
            assert answer.status_code == 200, answer.content

        timings[label] = {"queue_page": _time(page), "api_page": _time(api)}
        result[f"leads_of_one_salesperson_{label}"] = selectors.my_leads(workspace, seller).count()
    for name in ("queue_page", "api_page"):
        result[f"{name}_ms_at_1k"] = round(timings["small"][name], 2)
        result[f"{name}_ms_at_large"] = round(timings["large"][name], 2)
        result[f"{name}_ratio_large_vs_1k"] = round(
            timings["large"][name] / timings["small"][name], 2
        )
    result["target_ms"] = 200
    return result
