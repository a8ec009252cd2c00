from django.apps import AppConfig


class NurtureConfig(AppConfig):
    name = "leadflow.nurture"
    label = "nurture"
    verbose_name = "Nurture"

    def ready(self) -> None:
        # Imported in ready(): models and other apps load only once the app registry is.
        # Each part registers its activity kinds, condition fields, subscribers and periodic
        # passes from its own module's register().
        from leadflow.nurture import offer_kinds

        offer_kinds.register()
