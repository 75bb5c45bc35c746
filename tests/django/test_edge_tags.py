"""``edge_cache(tags=...)`` in Django: paths recorded per tag in the cache, and
``invalidate_tags`` purging them with one CloudFront invalidation (moto's CloudFront over
HTTP); the URLconf is this module."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from pytest_django import Settings as SettingsWrapper

from serverless_cache.django import edge_cache
from serverless_cache.errors import ConfigurationError
from serverless_cache.http import edge_tags
from tests.aws.test_cloudfront import _distribution

pytestmark = pytest.mark.urls(__name__)


def product(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(f"product {pk}")


def account(request: HttpRequest) -> HttpResponse:
    return HttpResponse("yours")


urlpatterns = [
    path(
        "product/<int:pk>/",
        edge_cache(public=True, s_maxage=300, tags=["catalog"])(product),
    ),
    path("account/", edge_cache(private=True, max_age=60, tags=["catalog"])(account)),
]


def invalidated_paths(client: Any, distribution: str) -> list[list[str]]:
    listing = client.list_invalidations(DistributionId=distribution)["InvalidationList"]
    return [
        client.get_invalidation(DistributionId=distribution, Id=item["Id"])["Invalidation"][
            "InvalidationBatch"
        ]["Paths"]["Items"]
        for item in listing.get("Items", [])
    ]


@pytest.fixture
def distribution(settings: SettingsWrapper, aws_env: str, redis_url: str) -> tuple[Any, str]:
    client = boto3.client("cloudfront", endpoint_url=aws_env, region_name="us-east-1")
    distribution_id = _distribution(client)
    settings.CACHES = {
        "default": {
            "BACKEND": "serverless_cache.django.RedisCache",
            "LOCATION": redis_url,
            "OPTIONS": {"EDGE_DISTRIBUTION_ID": distribution_id},
        }
    }
    return client, distribution_id


def test_invalidate_tags_purges_the_recorded_paths_once(distribution: tuple[Any, str]) -> None:
    client, distribution_id = distribution
    browser = Client()
    for pk in (1, 2, 1):
        assert browser.get(f"/product/{pk}/").status_code == 200
    assert browser.get("/account/").status_code == 200  # private: never at the edge
    tier = caches["default"].tier
    assert edge_tags.paths(tier, ["catalog"]) == ["/product/1/", "/product/2/"]
    assert tier.get(edge_tags.count_key(tier.key_prefix, "catalog")) == 2  # recorded once each
    assert caches["default"].invalidate_tags("catalog") is True
    assert invalidated_paths(client, distribution_id) == [["/product/1/", "/product/2/"]]


def test_a_tag_without_paths_sends_no_invalidation(distribution: tuple[Any, str]) -> None:
    client, distribution_id = distribution
    assert caches["default"].invalidate_tags("nothing-recorded") is True
    assert invalidated_paths(client, distribution_id) == []


def test_a_failed_purge_says_so(settings: SettingsWrapper, aws_env: str, redis_url: str) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "serverless_cache.django.RedisCache",
            "LOCATION": redis_url,
            "OPTIONS": {"EDGE_DISTRIBUTION_ID": "ENOSUCHDISTRIBUTION"},
        }
    }
    assert Client().get("/product/3/").status_code == 200
    assert caches["default"].invalidate_tags("catalog") is False


def test_the_distribution_is_configured_in_options_not_set_on_a_backend(
    distribution: tuple[Any, str],
) -> None:
    _, distribution_id = distribution
    assert caches["default"].edge_distribution_id == distribution_id
    with pytest.raises(ConfigurationError, match="EDGE_DISTRIBUTION_ID"):
        caches["default"].edge_distribution_id = "E2OTHER"
    assert caches["default"].edge_distribution_id == distribution_id
