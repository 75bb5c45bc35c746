"""The example apps show literal cache settings to copy; the demo's tier switch only overrides."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from example_project import cache_config

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"


def literal(path: Path, name: str) -> Any:
    """The value of the first ``name = <literal>`` in ``path`` (ValueError if not a literal)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            name
        ]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"no {name} = ... in {path}")


def test_django_settings_hold_a_literal_caches() -> None:
    caches = literal(EXAMPLE / "django_app" / "settings.py", "CACHES")
    assert caches["default"]["BACKEND"] == "serverless_cache.django.ExecutionContextCache"
    assert cache_config.django_caches(caches) is caches  # no EXAMPLE_CACHE_TIERS: unchanged


def test_flask_app_holds_a_literal_config() -> None:
    config = literal(EXAMPLE / "flask_app" / "app.py", "CACHE_CONFIG")
    assert config["CACHE_TYPE"] == "serverless_cache.flask.ExecutionContextCache"
    assert cache_config.flask_config(config) is config


def test_the_tier_switch_layers_the_literal_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_CACHE_TIERS", "memory,redis")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    caches = literal(EXAMPLE / "django_app" / "settings.py", "CACHES")
    default = cache_config.django_caches(caches)["default"]
    assert default["BACKEND"] == "serverless_cache.django.LayeredCache"
    assert (default["LOCATION"], default["TIMEOUT"]) == (
        caches["default"]["LOCATION"],
        caches["default"]["TIMEOUT"],
    )
    l1, redis = default["OPTIONS"]["TIERS"]
    assert l1["OPTIONS"] == caches["default"]["OPTIONS"]
    assert redis["LOCATION"] == "redis://cache.internal:6379/0"
    flask = cache_config.flask_config(literal(EXAMPLE / "flask_app" / "app.py", "CACHE_CONFIG"))
    assert flask["CACHE_TYPE"] == "serverless_cache.flask.LayeredCache"
    assert flask["CACHE_OPTIONS"]["name"] == "example-flask"
    assert flask["CACHE_OPTIONS"]["TIERS"][0]["OPTIONS"] == {"max_entries": 5_000}


def test_the_invalidation_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_CACHE_TIERS", "memory,redis")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    caches = literal(EXAMPLE / "django_app" / "settings.py", "CACHES")
    assert "INVALIDATION" not in cache_config.django_caches(caches)["default"]["OPTIONS"]
    monkeypatch.setenv("EXAMPLE_CACHE_INVALIDATION", "push")
    assert cache_config.django_caches(caches)["default"]["OPTIONS"]["INVALIDATION"] == "push"
    monkeypatch.setenv("EXAMPLE_CACHE_TIERS", "memory,memcached")
    monkeypatch.setenv("MEMCACHED_URL", "memcached://cache.internal:11211")
    assert "INVALIDATION" not in cache_config.django_caches(caches)["default"]["OPTIONS"]
