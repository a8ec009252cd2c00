from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "leadflow.sales"
    label = "sales"
    verbose_name = "Sales hand-off"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.sales import followup_kinds, kinds, subscribers

        kinds.register()
        followup_kinds.register()
        subscribers.register()
        # LEAD: wire the follow-up reminder sweep into the scheduler here, once
        # leadflow.core.scheduler lands (the sweep is safe to run twice; tests call it directly):
        #   from leadflow.core.scheduler import periodic_register
        #   periodic_register(
        #       "sales.followup_reminders",
        #       "leadflow.sales.tasks.followup_reminders_send",
        #       dt.timedelta(minutes=1),
        #   )
