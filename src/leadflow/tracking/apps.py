from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "leadflow.tracking"
    label = "tracking"
    verbose_name = "Visitor tracking and attribution"

    def ready(self) -> None:
        from leadflow.contacts.services import MERGE_HOOKS
        from leadflow.tracking.services import events_move_to_contact

        if events_move_to_contact not in MERGE_HOOKS:
            MERGE_HOOKS.append(events_move_to_contact)
