"""The bounce mailboxes' periodic pass (registered in ``NurtureConfig.ready`` every
``LEADFLOW_BOUNCE_CHECK_SECONDS``): safe to run twice and beside itself, as every report
is recorded once (nurture.services.bounce_mailbox)."""

from django.tasks import task

from leadflow.nurture.services.bounce_mailbox import mailboxes_read_all


@task()
def bounce_mailboxes_read() -> int:
    """Read every workspace's bounce mailbox; returns how many bounces were recorded."""
    return mailboxes_read_all()
