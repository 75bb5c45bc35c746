"""Django settings for the test suite; each test overrides CACHES as it needs."""

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "serverless_cache.django",
]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.django_urls"
DATABASES: dict[str, dict[str, str]] = {}
CACHES = {
    "default": {
        "BACKEND": "serverless_cache.django.ExecutionContextCache",
        "LOCATION": "tests-default",
    }
}
