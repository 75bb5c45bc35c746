"""Behaviour specific to the execution-context backend: bounds, store sharing, tampering."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.test import override_settings

BACKEND = "serverless_cache.django.ExecutionContextCache"


def make_cache(**params: Any) -> BaseCache:
    config = {"BACKEND": BACKEND, "LOCATION": "django-tests", **params}
    with override_settings(CACHES={"default": config}):
        return caches["default"]


def test_fractional_timeout_expires() -> None:
    # The other timeout rules run on every backend in test_api.py; sub-second expiry is
    # checked here, where the store keeps float expiry times.
    cache = make_cache()
    cache.set("short", 1, timeout=0.05)
    assert cache.get("short") == 1
    time.sleep(0.06)
    assert cache.get("short") is None


def test_set_many_returns_the_keys_that_failed() -> None:
    cache = make_cache(OPTIONS={"MAX_BYTES": 2_000})
    assert cache.set_many({"small": 1, "huge": b"x" * 5_000}) == ["huge"]
    assert cache.get("small") == 1


def test_max_entries_and_cull_frequency() -> None:
    cache = make_cache(OPTIONS={"MAX_ENTRIES": 9, "CULL_FREQUENCY": 3})
    for i in range(9):
        cache.set(i, i)
    cache.set("new", 1)
    assert len(cache.get_many(range(9))) == 6
    assert cache.get("new") == 1


def test_unknown_option_is_a_clear_error() -> None:
    from serverless_cache.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="MAX_BYTE"):
        make_cache(OPTIONS={"MAX_BYTE": 10})


def test_signed_codec_rejects_a_tampered_value() -> None:
    cache = make_cache(OPTIONS={"SIGNING_KEY": "s3cret"})
    cache.set("k", ["payload"])
    store = cache.tier.store
    final = cache.make_key("k")
    entry = store.data[final]
    store.data[final] = entry._replace(value=entry.value.replace(b"payload", b"PAYLOAD"))
    assert cache.get("k", "miss") == "miss"


def test_instances_in_two_threads_share_entries() -> None:
    config = {"default": {"BACKEND": BACKEND, "LOCATION": "threads"}}
    seen: dict[str, Any] = {}
    instances: list[BaseCache] = []

    def writer() -> None:
        with override_settings(CACHES=config):
            instances.append(caches["default"])
            caches["default"].set("k", "written in a thread")

    def reader() -> None:
        with override_settings(CACHES=config):
            instances.append(caches["default"])
            seen["value"] = caches["default"].get("k")

    for target in (writer, reader):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    assert instances[0] is not instances[1]
    assert seen["value"] == "written in a thread"
