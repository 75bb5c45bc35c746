"""The example apps through Zappa's own handler, as a Zappa deployment runs them: the real
``zappa.handler.lambda_handler`` under the real runtime client (awslambdaric), with the
``zappa_settings`` module Zappa's packaging generates from example_project/zappa_settings.json.

Zappa 0.63 sends every Set-Cookie twice and prefixes Django's cookies with a space; the
wrapper repairs both, and the safety rule keeps the per-user response out of shared caches.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from example_project import events, zappa_package
from example_project.execution import Environment
from serverless_cache.aws import zappa

COOKIES = {
    "production": ["session=s7; Secure; HttpOnly; Path=/", "theme=dark; Path=/"],
    "django": ["session=s7; HttpOnly; Path=/; Secure", "theme=dark; Path=/"],
}


@pytest.fixture(params=sorted(zappa_package.STAGES))
def staged(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Environment]]:
    stage = request.param
    settings = zappa_package.write(stage, tmp_path)
    assert f"API_STAGE='{stage}'" in settings.read_text()
    environ = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "example_project.django_app.settings",
        "EXAMPLE_DB_DELAY": "0",
        "EXAMPLE_CACHE_TIERS": "memory",
    }
    env = Environment(f"zappa-{stage}", zappa_package.STAGES[stage], environ, {})
    try:
        yield stage, env
    finally:
        env.close()


def test_keep_warm_goes_through_zappas_callback_then_warms(staged: tuple[str, Environment]) -> None:
    _, environment = staged
    body = environment.invoke(events.WARMUP_EVENTS["zappa-keep-warm"])
    assert body["response"] == {"warmup": True, "cold_start": True, "tiers": ["memory"]}
    assert body["measured"]["cold_start"] is True
    for expected_queries in (1, 0):  # the app Zappa loaded on keep-warm serves from its cache
        body = environment.invoke(events.apigw_v1("/products/4"))
        assert body["response"]["statusCode"] == 200
        assert body["measured"]["db_queries"] == expected_queries
        assert body["response"]["headers"]["Cache-Control"] == "public, max-age=30, s-maxage=60"


def test_cookies_through_zappa_once_each_and_private(staged: tuple[str, Environment]) -> None:
    stage, environment = staged
    expected = COOKIES[stage]
    rest = environment.invoke(events.apigw_v1("/account/7"))["response"]
    assert rest["statusCode"] == 200
    assert rest["multiValueHeaders"]["Set-Cookie"] == expected
    assert "set-cookie" not in rest["multiValueHeaders"]
    assert not any(name.lower() == "set-cookie" for name in rest["headers"])
    assert rest["headers"]["Cache-Control"] == "private, max-age=30"
    http = environment.invoke(events.apigw_v2("/account/7"))["response"]
    assert http["cookies"] == expected
    assert http["headers"]["Cache-Control"] == "private, max-age=30"


def test_tidy_cookies_leaves_other_responses_alone() -> None:
    response = {"statusCode": 200, "headers": {"Set-Cookie": "a=1"}}
    assert zappa.tidy_cookies(dict(response)) == response
    from zappa.handler import lambda_handler

    assert zappa.is_zappa_handler(lambda_handler)
    assert not zappa.is_zappa_handler(test_tidy_cookies_leaves_other_responses_alone)
