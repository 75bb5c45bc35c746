"""Django app config, so that ``serverless_cache.django`` can be in INSTALLED_APPS."""

from django.apps import AppConfig
from django.core import checks

from serverless_cache.django.checks import check_cache_page_order, check_edge_middleware


class ServerlessCacheConfig(AppConfig):
    name = "serverless_cache.django"
    label = "serverless_cache"
    verbose_name = "serverless-cache"

    def ready(self) -> None:
        checks.register(check_edge_middleware, checks.Tags.security)
        checks.register(check_cache_page_order, checks.Tags.security)
