"""Example Django project served on Lambda through Mangum (ASGI)."""
