from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "leadflow.contacts"
    label = "contacts"
    verbose_name = "Contacts and companies"

    def ready(self) -> None:
        from leadflow.contacts.kinds import contacts_kinds_register

        contacts_kinds_register()
