from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "store"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # One Shop per process, loaded at start-up (before gunicorn's fork with --preload).
        from .shop import get_shop

        get_shop(required=False)
