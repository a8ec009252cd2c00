"""``leadflow manage activities_catch_up``: deliver to every activity subscriber what the
log holds above its watermarks (after a missed announcement or a worker crash)."""

import time

from django.core.management.base import BaseCommand

from leadflow.contacts.activity_log import activities_catch_up

# Activities waiting behind an older PostgreSQL transaction are tried again this often,
# this many times, before the command leaves them to the worker's next delivery.
RECHECK_SECONDS = 1.0
RECHECKS = 30


class Command(BaseCommand):
    help = "Deliver every activity above each subscriber's watermark, in every workspace."

    def handle(self, *args, **options) -> None:
        delivered = 0
        for _ in range(RECHECKS):
            result = activities_catch_up()
            delivered += result.delivered
            if not (result.behind or result.busy):
                break
            time.sleep(RECHECK_SECONDS)
        self.stdout.write(f"Activities delivered to subscribers: {delivered}.")
