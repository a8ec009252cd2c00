"""Fit grades and lifecycle (temperature, MQL rule, funnel section) for a whole workspace,
against a plain UPDATE of the same rows as the baseline.

Contacts (BENCH_FIT_ROWS, default 1,000,000) are generated set-based with companies of
every size (a third without a company), varied job titles and engagement scores; the
workspace keeps the four default fit rules and an MQL rule (score ≥ 50 and grade at least
B). Reported: seconds for ``fit_grades_write`` and ``lifecycle_apply`` over every contact,
each as a ratio to one ``UPDATE ... SET fit_grade = 'C'`` of the same rows.
"""

import os
import time

TITLES = ("Head of IT", "Engineer", "Buyer", "Founder", "Student", "VP Sales", "Analyst")
SIZES = ("", "1-10", "11-50", "51-200", "201-1000", "1001-5000", "5001+")


def _seed(workspace_id: int, count: int) -> None:
    from django.db import connection

    pg = connection.vendor == "postgresql"
    series = (
        "SELECT generate_series(1, %s) AS n"
        if pg
        else "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %s) "
        "SELECT n FROM s"
    )

    def pick(values: tuple[str, ...], column: str) -> str:
        if pg:
            listed = ", ".join(repr(value) for value in values)
            return f"(ARRAY[{listed}])[1 + {column} %% {len(values)}]"
        whens = " ".join(f"WHEN {i} THEN '{value}'" for i, value in enumerate(values))
        return f"CASE {column} %% {len(values)} {whens} END"

    now = "now()" if pg else "CURRENT_TIMESTAMP"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO contacts_company (workspace_id, name, domain, size, industry, country,
                created_at, updated_at)
            SELECT %s, 'Company ' || n, 'company' || n || '.example', {pick(SIZES, "n")}, '', '',
                {now}, {now} FROM ({series}) AS numbers""",
            [workspace_id, 5000],
        )
        cursor.execute(
            "SELECT min(id) FROM contacts_company WHERE workspace_id = %s", [workspace_id]
        )
        first_company = cursor.fetchone()[0]
        cursor.execute(
            f"""INSERT INTO contacts_contact (workspace_id, email, first_name, last_name, job_title,
                company_id, country, lifecycle_stage, temperature, consent_status,
                first_touch_source, first_touch_medium, first_touch_campaign, first_touch_channel,
                last_touch_source, last_touch_medium, last_touch_campaign, last_touch_channel,
                custom_fields, engagement_score, created_at, updated_at)
            SELECT %s, 'p' || n || '@x.example', '', '', {pick(TITLES, "n")},
                CASE WHEN n %% 3 = 0 THEN NULL ELSE %s + n %% 5000 END, '',
                CASE WHEN n %% 2 = 0 THEN 'lead' ELSE 'subscriber' END, 'cold', 'unknown',
                '', '', '', '', '', '', '', '', '{{}}', (n %% 101), {now}, {now}
            FROM ({series}) AS numbers""",
            [workspace_id, first_company, count],
        )
        if pg:
            cursor.execute("ANALYZE contacts_contact")
            cursor.execute("ANALYZE contacts_company")


def _timed(function) -> float:
    from django.db import transaction

    started = time.perf_counter()
    with transaction.atomic():
        function()
    return time.perf_counter() - started


def run() -> dict:
    from bench_upsert import _setup_database

    _setup_database()
    from django.db import connection
    from django.db.models import Count

    from leadflow.contacts.models import Contact
    from leadflow.core.actors import Actor
    from leadflow.core.services import workspace_create
    from leadflow.scoring import services

    rows = int(os.environ.get("BENCH_FIT_ROWS", "1000000"))
    stamp = str(int(time.time() * 1000))
    workspace, _ = workspace_create(
        name=f"bench fit {stamp}", owner_email=f"f{stamp}@example.com", slug=f"fit-{stamp}"
    )
    services.profile_get(workspace)  # the default fit rules
    services.profile_update(
        workspace=workspace,
        actor=Actor.system(),
        values={
            "mql_conditions": {
                "version": 1,
                "match": "all",
                "children": [
                    {"field": "engagement_score", "operator": "gte", "value": 50},
                    {"field": "fit_grade", "operator": "at_least", "value": "B"},
                ],
            }
        },
    )
    _seed(workspace.pk, rows)
    contacts = Contact.objects.filter(workspace=workspace)
    baseline = _timed(lambda: contacts.update(fit_grade="C"))
    fit = _timed(lambda: services.fit_grades_write(workspace_id=workspace.pk))
    lifecycle = _timed(lambda: services.lifecycle_apply(workspace_id=workspace.pk))
    grades = dict(
        contacts.order_by()
        .values_list("fit_grade")
        .annotate(n=Count("pk"))
        .values_list("fit_grade", "n")
    )
    mqls = contacts.filter(lifecycle_stage="mql").count()
    return {
        "database": connection.vendor,
        "contacts": rows,
        "baseline_update_s": round(baseline, 2),
        "fit_grades_write_s": round(fit, 2),
        "fit_vs_baseline": round(fit / baseline, 2),
        "lifecycle_apply_s": round(lifecycle, 2),
        "lifecycle_vs_baseline": round(lifecycle / baseline, 2),
        "mqls_moved": mqls,
        "grades": grades,
    }
