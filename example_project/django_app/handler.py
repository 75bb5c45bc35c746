"""Lambda entry point: ``example_project.django_app.handler.lambda_handler``."""

from mangum import Mangum

from example_project.django_app.asgi import application
from serverless_cache.aws import serverless_handler

lambda_handler = serverless_handler(Mangum(application, lifespan="off"))
