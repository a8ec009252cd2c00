from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "leadflow.scoring"
    label = "scoring"
    verbose_name = "Lead scoring"

    def ready(self) -> None:
        from leadflow.scoring import conditions, subscribers

        conditions.register()
        subscribers.register()
