from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "leadflow.inbound"
    label = "inbound"
    verbose_name = "Inbound lead webhooks"
