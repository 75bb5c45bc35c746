"""The example Flask app for the Lambda Web Adapter (or Managed Instances), run by an ordinary
server: ``gunicorn example_project.flask_app.web_adapter:application``."""

from example_project.flask_app.app import app
from serverless_cache.aws.web_adapter import CacheWSGIMiddleware

application = CacheWSGIMiddleware(app)
