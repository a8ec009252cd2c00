from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "leadflow.sales"
    label = "sales"
    verbose_name = "Sales hand-off"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.core.services import MEMBER_REMOVED_HOOKS
        from leadflow.sales import kinds, subscribers
        from leadflow.sales.services import member_leads_release

        kinds.register()
        subscribers.register()
        if member_leads_release not in MEMBER_REMOVED_HOOKS:
            MEMBER_REMOVED_HOOKS.append(member_leads_release)
