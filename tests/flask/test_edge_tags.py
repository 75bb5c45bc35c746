"""``edge_cache(tags=..., cache=...)`` in Flask: recorded paths purged by the backend's
``invalidate_tags`` with one CloudFront invalidation (moto's CloudFront over HTTP)."""

from __future__ import annotations

import boto3
import pytest
from flask import Flask
from flask_caching import Cache

from serverless_cache.errors import ConfigurationError
from serverless_cache.flask import EdgeCache, TierCache, edge_cache
from tests.aws.test_cloudfront import _distribution
from tests.django.test_edge_tags import invalidated_paths


def test_invalidate_tags_purges_the_recorded_paths(aws_env: str, redis_url: str) -> None:
    client = boto3.client("cloudfront", endpoint_url=aws_env, region_name="us-east-1")
    distribution_id = _distribution(client)
    app = Flask(__name__)
    app.config.update(
        CACHE_TYPE="serverless_cache.flask.RedisCache",
        CACHE_REDIS_URL=redis_url,
        CACHE_OPTIONS={"edge_distribution_id": distribution_id},
    )
    cache = Cache(app)
    EdgeCache(app)

    @app.route("/product/<int:pk>")
    @edge_cache(public=True, s_maxage=300, tags=["catalog"], cache=cache)
    def product(pk: int) -> str:
        return f"product {pk}"

    browser = app.test_client()
    assert [browser.get(f"/product/{pk}").status_code for pk in (1, 2)] == [200, 200]
    with app.app_context():
        backend = cache.cache
        assert isinstance(backend, TierCache)
        assert backend.invalidate_tags("catalog") is True
    assert invalidated_paths(client, distribution_id) == [["/product/1", "/product/2"]]


def test_tags_need_the_cache_that_records_them() -> None:
    with pytest.raises(ConfigurationError, match="needs cache="):
        edge_cache(public=True, s_maxage=60, tags=["catalog"])
