from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "leadflow.deals"
    label = "deals"
    verbose_name = "Deals"

    def ready(self) -> None:
        # Imported in ready(): the registry lives in contacts, loaded once the apps are.
        from leadflow.deals import kinds, order_kinds

        kinds.register()
        order_kinds.register()
