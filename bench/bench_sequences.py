"""Moving contacts through a sequence: enrolments walked per second by the runner
(``sequences_run``, batches of 500 with leases), against the same-run baseline of the
same work done set-based in one call per step with no runner (``message_send`` for all,
one bulk tag, one branch query, one bulk stage change).

The flow: send an email (deliveries enqueued, not sent), add a tag, branch on the
country, a stage change on "yes", a one-day wait on "no". BENCH_SEQUENCE_CONTACTS changes
the size (default 20,000). The runner's figure includes what the baseline does not: the
leases, the per-step ``EnrollmentStep`` rows, the enrolments' write-back and the
``sequence.entered`` / ``sequence.finished`` activities.

Measured 6 December 2026 (x86_64, 2 cores, PostgreSQL 15 on 127.0.0.1, with a CI run
sharing the machine): 20,000 enrolments walked in 12.6 s, 1,585 a second, 2.5 times the
baseline's 5.0 s; SQLite, 4,000: 1,759 a second, 1.2 times. Before the write-back became one
UPDATE per group (it was Django's ``bulk_update``, a CASE per row), 4.8 times on SQLite.
"""

import os
import time


def run() -> dict:
    from bench_contact_list import _seed
    from bench_upsert import _setup_database

    _setup_database()
    from django.db import connection, transaction

    from leadflow.contacts.conditions import ConditionContext, conditions_compile, tree_from_json
    from leadflow.contacts.models import Contact
    from leadflow.contacts.services.bulk import contacts_bulk_action
    from leadflow.core.actors import Actor
    from leadflow.core.services import workspace_create
    from leadflow.nurture.models import Enrollment
    from leadflow.nurture.services import settings as email_settings
    from leadflow.nurture.services.sending import message_create, message_send
    from leadflow.nurture.services.sequence_runner import sequences_run
    from leadflow.nurture.services.sequences import (
        enroll,
        sequence_create,
        sequence_status_set,
    )

    size = int(os.environ.get("BENCH_SEQUENCE_CONTACTS", "20000"))
    stamp = str(int(time.time() * 1000))
    actor = Actor.system("bench")
    result: dict = {"database": connection.vendor, "contacts": size}

    def workspace_with_contacts(tag: str):
        workspace, _ = workspace_create(
            name=f"sequences {tag} {stamp}",
            slug=f"seq-{tag}-{stamp}",
            owner_email=f"q{tag}{stamp}@example.com",
        )
        _seed(workspace.pk, size, 0)
        # Every seeded contact is in the US: half move to Canada (the branch's "no").
        half = Contact.objects.filter(workspace=workspace).order_by("pk").values("pk")
        Contact.objects.filter(pk__in=half[: size // 2]).update(country="CA")
        identity = email_settings.identity_create(
            workspace=workspace, data={"from_address": f"news{tag}@example.com"}
        )
        template = email_settings.template_create(
            workspace=workspace, data={"name": "T", "subject": "Hi", "html_body": "<p>Hi</p>"}
        )
        message = message_create(
            workspace=workspace, name="M", template_id=template.pk, identity_id=identity.pk
        )
        ids = list(Contact.objects.filter(workspace=workspace).values_list("pk", flat=True))
        return workspace, message, ids

    us = {"field": "country", "operator": "eq", "value": "US"}

    # Baseline: the steps' own work, set-based, one call each.
    workspace, message, ids = workspace_with_contacts("base")
    started = time.perf_counter()
    with transaction.atomic():
        message_send(message=message, contact_ids=ids, step=1)
        contacts_bulk_action(
            workspace=workspace, contact_ids=ids, action="tag", value="nurtured", actor=actor
        )
        yes = list(
            Contact.objects.filter(pk__in=ids)
            .filter(conditions_compile(tree_from_json(us), ConditionContext(workspace)))
            .values_list("pk", flat=True)
        )
        contacts_bulk_action(
            workspace=workspace, contact_ids=yes, action="set_stage", value="mql", actor=actor
        )
    baseline = time.perf_counter() - started
    result["baseline_s"] = round(baseline, 2)

    # The runner.
    workspace, message, ids = workspace_with_contacts("run")
    sequence = sequence_create(
        workspace=workspace,
        actor=actor,
        values={
            "name": "Bench",
            "steps": [
                {"id": 1, "type": "email", "message_id": message.pk, "next": 2},
                {"id": 2, "type": "tag", "tag": "nurtured", "next": 3},
                {"id": 3, "type": "branch", "conditions": us, "yes": 4, "no": 5},
                {"id": 4, "type": "stage", "stage": "mql", "next": None},
                {"id": 5, "type": "wait", "seconds": 86400, "next": None},
            ],
        },
    )
    sequence = sequence_status_set(
        workspace=workspace, actor=actor, sequence_id=sequence.pk, status="active"
    )
    started = time.perf_counter()
    enroll(workspace=workspace, sequence=sequence, contact_ids=ids, actor=actor, source="bench")
    result["enrol_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    runs = 0
    while sequences_run().claimed:
        runs += 1
    walked = time.perf_counter() - started
    result["runner_s"] = round(walked, 2)
    result["runner_runs"] = runs
    result["enrolments_per_s"] = round(size / walked)
    result["runner_vs_baseline"] = round(walked / max(baseline, 0.001), 2)
    result["waiting"] = Enrollment.objects.filter(sequence=sequence, status="active").count()
    result["completed"] = Enrollment.objects.filter(sequence=sequence, status="completed").count()
    return result
