from django.apps import AppConfig


class DuplicatesConfig(AppConfig):
    name = "leadflow.duplicates"
    label = "duplicates"
    verbose_name = "Duplicate finder"

    def ready(self) -> None:
        from leadflow.duplicates import subscribers

        subscribers.register()
