from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "leadflow.contacts"
    label = "contacts"
    verbose_name = "Contacts and companies"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.contacts.audience import mentioned_contact_ids
        from leadflow.contacts.kinds import contacts_kinds_register
        from leadflow.contacts.selectors import NOTIFIED_CONTACT_IDS

        contacts_kinds_register()
        if mentioned_contact_ids not in NOTIFIED_CONTACT_IDS:
            NOTIFIED_CONTACT_IDS.append(mentioned_contact_ids)
