import datetime as dt

from django.apps import AppConfig
from django.conf import settings


class NurtureConfig(AppConfig):
    name = "leadflow.nurture"
    label = "nurture"
    verbose_name = "Nurture"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        # Each part registers its activity kinds, condition fields, subscribers and periodic
        # passes from its own module's register().
        from leadflow.contacts.suppression import suppression_check_register
        from leadflow.nurture import (
            bounce_kinds,
            offer_kinds,
            reply_kinds,
            sequence_kinds,
            sms_kinds,
            tracking_kinds,
        )
        from leadflow.nurture.preference_kinds import preference_kinds_register
        from leadflow.nurture.selectors.suppression import (
            suppression_reason,
            suppression_reasons,
        )

        # Every sender (sales' personal email, nurture's own) and imports ask the list
        # through contacts.suppression, without importing nurture.
        suppression_check_register(suppression_reason, suppression_reasons)
        preference_kinds_register()
        offer_kinds.register()
        sequence_kinds.register()
        bounce_kinds.register()
        reply_kinds.register()
        tracking_kinds.register()
        sms_kinds.register()

        from leadflow.core.scheduler import periodic_register
        from leadflow.nurture import (
            segment_conditions,
            segment_kinds,
            subscribers,
            tracking_conditions,
        )

        segment_kinds.register()
        segment_conditions.register()
        tracking_conditions.register()
        subscribers.register()
        periodic_register(
            "nurture.segments_refresh",
            "leadflow.nurture.tasks.segments_refresh_all",
            # Time-based conditions ("no visit in 30 days") change with no activity.
            dt.timedelta(seconds=settings.LEADFLOW_SEGMENT_REFRESH_SECONDS),
        )
        periodic_register(
            "nurture.sequences_run",
            "leadflow.nurture.tasks.sequences_run_task",
            # Waits that end: a sleeping enrolment moves at most this late.
            dt.timedelta(seconds=settings.LEADFLOW_SEQUENCE_RUN_SECONDS),
        )
        periodic_register(
            "nurture.sms_send",
            "leadflow.nurture.tasks.sms_send",
            # Texts held by the cap or quiet hours, or a provider that was down.
            dt.timedelta(seconds=settings.LEADFLOW_SEQUENCE_RUN_SECONDS * 2),
        )
        periodic_register(
            "nurture.broadcasts_due",
            "leadflow.nurture.tasks.broadcasts_due_task",
            # A start or an A/B decision whose own task was lost runs at most this late.
            dt.timedelta(seconds=settings.LEADFLOW_SEQUENCE_RUN_SECONDS * 2),
        )
        periodic_register(
            "nurture.bounce_mailboxes",
            "leadflow.nurture.bounce_tasks.bounce_mailboxes_read",
            dt.timedelta(seconds=settings.LEADFLOW_BOUNCE_CHECK_SECONDS),
        )
