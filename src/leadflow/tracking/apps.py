from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "leadflow.tracking"
    label = "tracking"
    verbose_name = "Visitor tracking and attribution"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.contacts.services import MERGE_HOOKS, TOUCH_CHANNEL_HOOKS
        from leadflow.tracking.channels import touch_channel
        from leadflow.tracking.kinds import tracking_kinds_register
        from leadflow.tracking.services import events_move_to_contact

        if events_move_to_contact not in MERGE_HOOKS:
            MERGE_HOOKS.append(events_move_to_contact)
        # A contact given a source and medium (API, import, app) gets its channel from the
        # same channel rules as a tracked visit.
        if touch_channel not in TOUCH_CHANNEL_HOOKS:
            TOUCH_CHANNEL_HOOKS.append(touch_channel)
        tracking_kinds_register()
