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


ONLY_THE_BACKEND = """
import json, sys
from django.conf import settings
settings.configure(CACHES={"default": {"BACKEND": "serverless_cache.django.%s", "LOCATION": %r}})
import django
django.setup()
from django.core.cache import caches
caches["default"]
print(json.dumps(sorted(m for m in sys.modules if m.startswith("serverless_cache."))))
"""


def test_a_configured_backend_loads_only_its_own_modules() -> None:
    def loaded(backend: str, location: str) -> set[str]:
        script = ONLY_THE_BACKEND % (backend, location)
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
        )
        return set(json.loads(result.stdout.strip().splitlines()[-1]))

    memory = loaded("ExecutionContextCache", "cold")
    assert "serverless_cache.tiers.memory" in memory
    others = ("tiers.redis", "tiers.dynamodb", "tiers.memcached", "tiers.layered", "http", "aws")
    # Building a cache registers the SnapStart hook, and loads nothing else of aws.
    hook = {"serverless_cache.aws", "serverless_cache.aws.snapstart"}
    assert not {
        m for m in memory - hook for other in others if m.startswith(f"serverless_cache.{other}")
    }
    assert not {"serverless_cache.django.edge", "serverless_cache.django.middleware"} & memory
    redis = loaded("RedisCache", "redis://127.0.0.1:1/0")
    assert "serverless_cache.tiers.redis.tier" in redis
    assert not {
        m
        for m in redis
        if m.startswith(("serverless_cache.tiers.dynamodb", "serverless_cache.http"))
    }
