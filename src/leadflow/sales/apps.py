import datetime as dt

from django.apps import AppConfig
from django.conf import settings


class SalesConfig(AppConfig):
    name = "leadflow.sales"
    label = "sales"
    verbose_name = "Sales hand-off"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.core.scheduler import periodic_register
        from leadflow.core.services import MEMBER_REMOVED_HOOKS
        from leadflow.sales import (
            actions,
            conditions,
            followup_kinds,
            kinds,
            queue_kinds,
            subscribers,
        )
        from leadflow.sales.services import member_leads_release

        kinds.register()
        actions.register()
        conditions.register()
        followup_kinds.register()
        queue_kinds.register()
        subscribers.register()
        periodic_register(
            "sales.first_touch_deadlines",
            "leadflow.sales.tasks.first_touch_deadlines",
            # A reminder comes within about this much (plus a tick) of its deadline.
            dt.timedelta(seconds=settings.LEADFLOW_SWEEP_SECONDS),
        )
        if member_leads_release not in MEMBER_REMOVED_HOOKS:
            MEMBER_REMOVED_HOOKS.append(member_leads_release)
        periodic_register(
            "sales.followup_reminders",
            "leadflow.sales.tasks.followup_reminders_send",
            dt.timedelta(seconds=settings.LEADFLOW_SWEEP_SECONDS),
        )
