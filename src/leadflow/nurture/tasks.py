"""Nurture's background jobs, each safe to run twice and beside itself.

- ``message_deliver``: send a message's queued deliveries (nurture.services.sending). Runs
  of the same message share the work through leases; a mail server that is down releases
  what was claimed and tries again later (``core.tasks.mail_retrying``).
"""

from django.tasks import task

from leadflow.core.tasks import mail_retrying
from leadflow.nurture.services.sending import message_deliver_run


@task()
@mail_retrying
def message_deliver(message_pk: int, base_url: str = "") -> int:
    """Send what is queued of the message; returns how many this run sent."""
    return message_deliver_run(message_pk=message_pk, base_url=base_url).sent
