"""Importing the package and using the in-process tier must not load the network clients."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
import serverless_cache, serverless_cache.django, serverless_cache.flask
from serverless_cache.tiers.memory import MemoryTier
from django.conf import settings
settings.configure(CACHES={"default": {
    "BACKEND": "serverless_cache.django.ExecutionContextCache", "LOCATION": "cold"}})
import django
django.setup()
from django.core.cache import cache
cache.set("k", [1])
assert cache.get("k") == [1]
from flask import Flask
from flask_caching import Cache
app = Flask("cold")
app.config["CACHE_TYPE"] = "serverless_cache.flask.ExecutionContextCache"
flask_cache = Cache(app)
with app.app_context():
    flask_cache.set("k", 1)
    assert flask_cache.get("k") == 1
clients = {"boto3", "botocore", "redis", "pymemcache"}
loaded = sorted({m.split(".")[0] for m in sys.modules} & clients)
print(json.dumps(loaded))
"""


def test_network_clients_are_not_imported() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
