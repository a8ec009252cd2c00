from django.apps import AppConfig


class CaptureConfig(AppConfig):
    name = "leadflow.capture"
    label = "capture"
    verbose_name = "Lead capture"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.capture.magnet_kinds import register
        from leadflow.capture.magnets import grants_merge, seats_give_back
        from leadflow.capture.selectors import notified_contact_ids
        from leadflow.contacts.selectors import NOTIFIED_CONTACT_IDS
        from leadflow.contacts.services import DELETE_HOOKS, MERGE_HOOKS

        register()
        if seats_give_back not in DELETE_HOOKS:
            DELETE_HOOKS.append(seats_give_back)
        if grants_merge not in MERGE_HOOKS:
            MERGE_HOOKS.append(grants_merge)
        if notified_contact_ids not in NOTIFIED_CONTACT_IDS:
            NOTIFIED_CONTACT_IDS.append(notified_contact_ids)
        # The tracker loads the pop-up script only while the workspace has an active pop-up.
        from leadflow.capture.popups.selectors import tracker_popups_hook
        from leadflow.tracking.selectors import TRACKER_CONFIG_HOOKS

        if tracker_popups_hook not in TRACKER_CONFIG_HOOKS:
            TRACKER_CONFIG_HOOKS.append(tracker_popups_hook)
