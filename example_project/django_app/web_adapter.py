"""The example Django project for the Lambda Web Adapter (or Managed Instances), run by an
ordinary server: ``uvicorn example_project.django_app.web_adapter:application``."""

from example_project.django_app.asgi import application as django_application
from serverless_cache.aws.web_adapter import CacheASGIMiddleware

application = CacheASGIMiddleware(django_application)
