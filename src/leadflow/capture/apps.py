from django.apps import AppConfig


class CaptureConfig(AppConfig):
    name = "leadflow.capture"
    label = "capture"
    verbose_name = "Lead capture"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.capture.magnet_kinds import register
        from leadflow.capture.selectors import notified_contact_ids
        from leadflow.contacts.selectors import NOTIFIED_CONTACT_IDS

        register()
        if notified_contact_ids not in NOTIFIED_CONTACT_IDS:
            NOTIFIED_CONTACT_IDS.append(notified_contact_ids)
