"""Entry point for Zappa (``lambda_handler`` in zappa_settings.json): Zappa's handler, wrapped.

Zappa's keep-warm event then warms the cache tiers instead of only keeping the process alive.
"""

from zappa.handler import lambda_handler as zappa_lambda_handler

from serverless_cache.aws import serverless_handler

lambda_handler = serverless_handler(zappa_lambda_handler)
