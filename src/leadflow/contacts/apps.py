from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "leadflow.contacts"
    label = "contacts"
    verbose_name = "Contacts and companies"
