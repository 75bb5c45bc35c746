"""Django app config, so that ``serverless_cache.django`` can be in INSTALLED_APPS."""

from django.apps import AppConfig

from serverless_cache.django.checks import register_checks


class ServerlessCacheConfig(AppConfig):
    name = "serverless_cache.django"
    label = "serverless_cache"
    verbose_name = "serverless-cache"

    def ready(self) -> None:
        register_checks()
