"""The serverless-cache console command: wiring, output formats, warnings, invalidation."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml

from serverless_cache.cli import COMMANDS, build_parser, main

DJANGO = ["--django", "tests.django_settings", "--urlconf", "tests.django.edge_urls"]
FLASK = ["--flask", "tests.flask.edge_app:create_app"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_subcommands_are_wired() -> None:
    assert set(COMMANDS) == {
        "apigw-config",
        "apigw-cache-auth",
        "cloudfront-policy",
        "cloudfront-invalidate",
        "create-table",
    }
    help_text = build_parser().format_help()
    assert all(name in help_text for name in COMMANDS)


def test_apigw_config_yaml_and_json_agree(capsys: pytest.CaptureFixture[str]) -> None:
    routes = ["--route", "/articles/{pk}", "--route", "/public"]
    status, as_yaml, err = run(capsys, "apigw-config", *DJANGO, *routes)
    assert status == 0
    assert "7200s exceeds API Gateway's maximum cache TTL; clamped to 3600s" in err
    assert "whole Cookie header" in err
    _, as_json, _ = run(capsys, "apigw-config", *DJANGO, *routes, "--format", "json")
    document = json.loads(as_json)
    assert yaml.safe_load(as_yaml) == document
    settings = document["Resources"]["Api"]["Properties"]["MethodSettings"]
    assert settings[1:] == [
        {
            "ResourcePath": "/~1public",
            "HttpMethod": "GET",
            "CachingEnabled": True,
            "CacheTtlInSeconds": 600,
            "CacheDataEncrypted": True,
        },
        {
            "ResourcePath": "/~1articles~1{pk}",
            "HttpMethod": "GET",
            "CachingEnabled": True,
            "CacheTtlInSeconds": 3600,
            "CacheDataEncrypted": True,
        },
    ]
    article = document["Resources"]["Function"]["Properties"]["Events"]["GetArticlesPk"]
    assert [next(iter(p)) for p in article["Properties"]["RequestParameters"]] == [
        "method.request.path.pk",
        "method.request.header.Accept",
        "method.request.header.Cookie",
    ]


def test_apigw_config_from_flask_cloudformation(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "apigw-config", *FLASK, "--template", "cloudformation", "--route", "/items/{pk}"
    )
    assert status == 0
    resources = yaml.safe_load(out)["Resources"]
    assert resources["ApiStage"]["Properties"]["MethodSettings"][1]["CacheTtlInSeconds"] == 75
    integration = resources["ApiGetItemsPkMethod"]["Properties"]["Integration"]
    assert integration["CacheKeyParameters"] == ["method.request.path.pk"]


def test_apigw_config_warns_for_shared_routes_left_out_and_refuses_http_apis(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "apigw-config", *DJANGO, "--route", "/class")
    assert status == 0
    assert "/class: shared lifetime 120s left out of API Gateway's stage cache" in err
    assert "CachingEnabled: true" not in out
    status, out, err = run(capsys, "apigw-config", *DJANGO, "--api-type", "http")
    assert status == 2 and out == ""
    assert "HTTP APIs (payload format 2.0) have no stage cache" in err


def test_apigw_cache_auth_command(capsys: pytest.CaptureFixture[str], aws_env: str) -> None:
    client: Any = boto3.client("apigateway")
    api = client.create_rest_api(name="cli")["id"]
    root = client.get_resources(restApiId=api)["items"][0]["id"]
    client.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    client.create_deployment(restApiId=api, stageName="prod")
    status, out, _ = run(
        capsys, "apigw-cache-auth", *FLASK, "--route", "/items/{pk}", "--rest-api-id", api
    )
    assert status == 0
    settings = json.loads(out)
    assert settings["~1items~1{pk}/GET"]["requireAuthorizationForCacheControl"] is True
    assert settings["*/*"]["unauthorizedCacheControlHeaderStrategy"] == "FAIL_WITH_403"


def test_unknown_route_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "apigw-config", *FLASK, "--route", "/nope")
    assert status == 2 and out == ""
    assert "no decorated route at /nope" in err


def test_cloudfront_policy_template(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "cloudfront-policy", *FLASK, "--route", "/articles/{pk}")
    assert status == 0 and err == ""
    resource = yaml.safe_load(out)["Resources"]["CachePolicyArticlesPk"]
    assert resource["Type"] == "AWS::CloudFront::CachePolicy"
    config = resource["Properties"]["CachePolicyConfig"]
    assert config["Name"] == {"Fn::Sub": "${AWS::StackName}-ArticlesPk"}
    assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (0, 7200, 31536000)
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Accept"]}
    assert key["CookiesConfig"] == {"CookieBehavior": "whitelist", "Cookies": ["currency"]}
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}


def test_cloudfront_policy_api_config_and_min_ttl_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(
        capsys,
        "cloudfront-policy",
        *DJANGO,
        "--route",
        "/public",
        "--api-config",
        "public-pages",
        "--min-ttl",
        "1",
    )
    assert status == 0
    assert "MinTTL 1 > 0 makes CloudFront cache responses marked private" in err
    config = json.loads(out)
    assert config["Name"] == "public-pages"
    assert config["ParametersInCacheKeyAndForwardedToOrigin"]["QueryStringsConfig"] == {
        "QueryStringBehavior": "whitelist",
        "QueryStrings": {"Quantity": 1, "Items": ["page"]},
    }


def test_cloudfront_invalidate_command(capsys: pytest.CaptureFixture[str], aws_env: str) -> None:
    from tests.aws.test_cloudfront import _distribution

    client: Any = boto3.client("cloudfront")
    distribution = _distribution(client)
    status, out, _ = run(
        capsys, "cloudfront-invalidate", distribution, "/a", "/b", "/c", "--batch-size", "2"
    )
    assert status == 0
    ids = out.split()
    assert len(ids) == 2
    items = [
        client.get_invalidation(DistributionId=distribution, Id=i)["Invalidation"][
            "InvalidationBatch"
        ]["Paths"]["Items"]
        for i in ids
    ]
    assert items == [["/a", "/b"], ["/c"]]
