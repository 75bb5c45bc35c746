"""Settings of the example Django project: no database, the cache does the work."""

from example_project import cache_config

SECRET_KEY = "example-project-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
INSTALLED_APPS = ["serverless_cache.django"]
MIDDLEWARE = ["serverless_cache.django.middleware.EdgeCacheMiddleware"]
ROOT_URLCONF = "example_project.django_app.urls"
DATABASES: dict[str, dict[str, str]] = {}
CACHES = {
    "default": {
        "BACKEND": "serverless_cache.django.ExecutionContextCache",
        "LOCATION": "example-django",  # the in-process store's name
        "TIMEOUT": 300,
        "OPTIONS": {"MAX_ENTRIES": 5_000},
    }
}
# The demo's runs with Redis or DynamoDB (EXAMPLE_CACHE_TIERS) layer the cache above over them.
CACHES = cache_config.django_caches(CACHES)
