"""Background work runs on both engines: the database-backed worker and RQ on real Redis."""

import django_rq
import pytest
from django.core.management import call_command
from django.test import override_settings

from leadflow.contacts import services
from leadflow.core.actors import Actor
from leadflow.duplicates.models import DuplicatePair


def _two_people_one_phone(workspace):
    for email in ("jon.smith@initech.com", "jsmith@gmail.com"):
        services.contact_upsert(
            workspace=workspace,
            actor=Actor.system(),
            data={
                "email": email,
                "phone": "+442079460999",
                "first_name": "Jon",
                "last_name": "Smith",
            },
        )


@pytest.mark.django_db(transaction=True)
def test_database_worker_runs_tasks_enqueued_after_commit(workspace):
    from django_tasks_db.models import DBTaskResult

    _two_people_one_phone(workspace)
    # Enqueued on commit, not yet run: one delivery, which the second commit shares.
    assert DBTaskResult.objects.count() == 1
    assert not DuplicatePair.objects.exists()
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    pair = DuplicatePair.objects.get()  # the duplicate finder, an activity subscriber
    assert "phone" in pair.reasons
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_rq_worker_on_redis_runs_the_same_tasks(workspace, redis_server):
    rq_settings = {
        "TASKS": {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}},
        "RQ_QUEUES": {"default": {"URL": f"{redis_server}/15", "DEFAULT_TIMEOUT": 60}},
    }
    with override_settings(**rq_settings):
        queue = django_rq.get_queue("default")
        queue.connection.ping()
        queue.empty()
        failed_before = set(queue.failed_job_registry.get_job_ids())
        _two_people_one_phone(workspace)
        assert queue.count == 2
        assert not DuplicatePair.objects.exists()
        worker = django_rq.get_worker("default")
        worker.work(burst=True)
        assert queue.count == 0
        assert DuplicatePair.objects.count() == 1
        assert set(queue.failed_job_registry.get_job_ids()) == failed_before


@pytest.mark.django_db(transaction=True)
def test_a_plain_task_is_not_starved_by_deliveries_queued_after_it(workspace):
    """The database queue runs ready tasks by due time: a task scheduled before a stream
    of activity deliveries (each due now) runs before them, not after all of them."""
    from django_tasks_db.models import DBTaskResult

    from leadflow.contacts.tasks import activities_deliver
    from leadflow.core.tasks import task_schedule, task_schedule_coalesced

    task_schedule("leadflow.sales.tasks.first_touch_deadlines")
    for _ in range(3):
        DBTaskResult.objects.filter(task_path=activities_deliver.module_path).delete()
        task_schedule_coalesced(activities_deliver, workspace.pk)
    first = DBTaskResult.objects.filter(status="READY").first()  # the queue's own order
    assert first.task_path == "leadflow.sales.tasks.first_touch_deadlines"
