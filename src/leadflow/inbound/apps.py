from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "leadflow.inbound"
    label = "inbound"
    verbose_name = "Inbound lead webhooks"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.contacts.selectors import NOTIFIED_CONTACT_IDS
        from leadflow.inbound.selectors import notified_contact_ids

        if notified_contact_ids not in NOTIFIED_CONTACT_IDS:
            NOTIFIED_CONTACT_IDS.append(notified_contact_ids)
