"""Entry point for Zappa's ``django`` stage (``lambda_handler`` in zappa_settings.json):
Zappa's handler, wrapped, so that Zappa's keep-warm warms the cache tiers too."""

from zappa.handler import lambda_handler as zappa_lambda_handler

from serverless_cache.aws import serverless_handler

lambda_handler = serverless_handler(zappa_lambda_handler)
