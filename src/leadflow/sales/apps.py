from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "leadflow.sales"
    label = "sales"
    verbose_name = "Sales hand-off"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.sales import kinds, subscribers

        kinds.register()
        subscribers.register()
