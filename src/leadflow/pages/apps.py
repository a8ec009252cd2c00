from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "leadflow.pages"
    label = "pages"
    verbose_name = "Landing pages"

    def ready(self) -> None:
        # The views counted in this process reach the database when it exits, too.
        import atexit

        from leadflow.pages.counters import views_flush

        atexit.register(views_flush)
