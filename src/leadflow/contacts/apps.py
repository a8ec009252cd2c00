from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "leadflow.contacts"
    label = "contacts"
    verbose_name = "Contacts and companies"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        from leadflow.contacts.kinds import contacts_kinds_register

        contacts_kinds_register()
