"""Lambda entry point: ``example_project.flask_app.handler.lambda_handler``."""

from apig_wsgi import make_lambda_handler

from example_project.flask_app.app import app
from serverless_cache.aws import serverless_handler

lambda_handler = serverless_handler(make_lambda_handler(app, binary_support=True))
