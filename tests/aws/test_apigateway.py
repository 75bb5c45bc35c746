"""API Gateway stage cache settings generated from Django and Flask routes: opt-in per route,
complete templates that cfn-lint accepts, and the post-deploy cache authorization."""

from __future__ import annotations

import warnings
from typing import Any

import boto3
import pytest

from serverless_cache.aws.apigateway import (
    EdgeConfigWarning,
    cache_authorization_patches,
    cache_key_parameters,
    cache_ttl,
    resource_path,
    set_cache_authorization,
)
from serverless_cache.aws.apigateway_template import stage_template
from serverless_cache.aws.templates import render
from serverless_cache.django.routes import EdgeRouteWarning
from serverless_cache.django.routes import edge_routes as django_routes
from serverless_cache.errors import ConfigurationError
from serverless_cache.flask.routes import edge_routes as flask_routes
from serverless_cache.http import CachePolicy
from serverless_cache.http.routes import EdgeRoute
from tests.fixtures.cfn_lint import lint_messages
from tests.flask.edge_app import create_app

CACHED = CachePolicy(public=True, s_maxage=60, stage_cache=True)


def routes_by_path(routes: list[EdgeRoute]) -> dict[str, EdgeRoute]:
    return {route.path: route for route in routes}


def quiet(function: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EdgeConfigWarning)
        return function(*args, **kwargs)


def test_django_urlconf_routes() -> None:
    routes = routes_by_path(django_routes("tests.django.edge_urls"))
    assert routes["/articles/{pk}"].name == "article"
    assert routes["/articles/{pk}"].policy.s_maxage == 7200
    assert routes["/legacy/{slug}"].policy.max_age == 300  # from re_path
    assert routes["/files/{rest+}"].path_parameters == ("rest",)
    assert routes["/class"].policy.s_maxage == 120  # class-based view
    assert routes["/cached-inside"].policy.s_maxage == 600
    assert routes["/never"].policy.no_store
    assert "/plain" not in routes and "/hand-written" not in routes


def test_unsupported_regex_is_warned_and_skipped() -> None:
    from serverless_cache.django.routes import _simplify_regex

    assert _simplify_regex(r"^a/(?P<x>[0-9]{2}(?:b|c))/$") == "a/{x}/"
    with pytest.warns(EdgeRouteWarning, match="not a plain path"):
        assert _simplify_regex(r"^(a|b)/$") is None


def test_flask_url_map_routes() -> None:
    routes = routes_by_path(flask_routes(create_app()))
    assert routes["/items/{pk}"].policy.s_maxage == 75  # MethodView
    assert routes["/docs/{page+}"].policy.s_maxage == 45  # blueprint
    assert routes["/docs/short/{name}"].policy.cache_control == "public, max-age=10, s-maxage=20"
    assert routes["/form"].name == "form"
    assert "/plain" not in routes and "/static/{filename+}" not in routes


def test_stage_caching_is_opt_in_and_every_shared_route_left_out_is_warned() -> None:
    shared = EdgeRoute("/shared", "shared", CachePolicy(public=True, s_maxage=600))
    with pytest.warns(
        EdgeConfigWarning,
        match=r"/shared: shared lifetime 600s left out .*"
        "stage_cache=True",
    ):
        assert cache_ttl(shared) == 0
    assert cache_ttl(EdgeRoute("/a", "a", CACHED)) == 60
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to say about a route without a lifetime
        assert cache_ttl(EdgeRoute("/b", "b", CachePolicy(private=True, max_age=60))) == 0
        assert cache_ttl(EdgeRoute("/c", "c", CachePolicy(no_cache=True, max_age=60))) == 0
    resources = quiet(stage_template, [shared], template="cloudformation")["Resources"]
    stage = resources["ApiStage"]["Properties"]
    assert stage["MethodSettings"] == [
        {"ResourcePath": "/*", "HttpMethod": "*", "CachingEnabled": False}
    ]
    assert "CacheClusterEnabled" not in stage  # no cache cluster to pay for


def test_resource_paths_and_ttls() -> None:
    assert resource_path("/") == "/"
    assert resource_path("/articles/{pk}") == "/~1articles~1{pk}"
    route = EdgeRoute("/a", "a", CachePolicy(public=True, s_maxage=7200, stage_cache=True))
    with pytest.warns(EdgeConfigWarning, match="7200s exceeds .* clamped to 3600s"):
        assert cache_ttl(route) == 3600
    every_query = CachePolicy(max_age=9, query_strings=("*",), stage_cache=True)
    with pytest.warns(EdgeConfigWarning, match="all query strings"):
        assert cache_ttl(EdgeRoute("/a", "a", every_query)) == 0


def test_cache_key_parameters() -> None:
    policy = CachePolicy(
        public=True, s_maxage=60, vary=("Accept",), headers=("X-Tenant",), query_strings=("page",)
    )
    assert cache_key_parameters(EdgeRoute("/a/{pk}", "a", policy)) == [
        "method.request.path.pk",
        "method.request.querystring.page",
        "method.request.header.Accept",
        "method.request.header.X-Tenant",
    ]
    with pytest.warns(EdgeConfigWarning, match="whole Cookie header"):
        cookies = cache_key_parameters(EdgeRoute("/b", "b", CachePolicy(max_age=1, cookies=("c",))))
    assert cookies == ["method.request.header.Cookie"]


def _flask_template(template: str) -> dict[str, Any]:
    routes = [
        r for r in flask_routes(create_app()) if r.path in ("/public", "/never", "/items/{pk}")
    ]
    return stage_template(routes, template=template, stage="live", cache_cluster_size="1.6")


def test_sam_template_field_by_field() -> None:
    document = _flask_template("sam")
    assert document["Transform"] == "AWS::Serverless-2016-10-31"
    resources = document["Resources"]
    properties = resources["Api"]["Properties"]
    assert resources["Api"]["Type"] == "AWS::Serverless::Api"
    assert properties["StageName"] == "live"
    assert properties["CacheClusterEnabled"] is True
    assert properties["CacheClusterSize"] == "1.6"
    assert properties["MethodSettings"] == [
        {"ResourcePath": "/*", "HttpMethod": "*", "CachingEnabled": False},
        {
            "ResourcePath": "/~1public",
            "HttpMethod": "GET",
            "CachingEnabled": True,
            "CacheTtlInSeconds": 600,
            "CacheDataEncrypted": True,
        },
        {
            "ResourcePath": "/~1items~1{pk}",
            "HttpMethod": "GET",
            "CachingEnabled": True,
            "CacheTtlInSeconds": 75,
            "CacheDataEncrypted": True,
        },
    ]
    function = resources["Function"]["Properties"]
    assert (function["Handler"], function["Runtime"], function["CodeUri"]) == (
        "handler.lambda_handler",
        "python3.12",
        ".",
    )
    events = function["Events"]
    assert set(events) == {"Root", "Proxy", "GetPublic", "GetItemsPk"}
    assert events["Proxy"]["Properties"] == {
        "RestApiId": {"Ref": "Api"},
        "Path": "/{proxy+}",
        "Method": "any",
    }
    assert events["GetPublic"] == {
        "Type": "Api",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "Path": "/public",
            "Method": "get",
            "RequestParameters": [
                {"method.request.querystring.page": {"Required": False, "Caching": True}},
                {"method.request.header.Accept-Language": {"Required": False, "Caching": True}},
            ],
        },
    }
    assert events["GetItemsPk"]["Properties"]["RequestParameters"] == [
        {"method.request.path.pk": {"Required": True, "Caching": True}}
    ]


def test_cloudformation_template_field_by_field() -> None:
    document = _flask_template("cloudformation")
    resources = document["Resources"]
    assert document["Parameters"]["FunctionArn"]["Type"] == "String"
    stage = resources["ApiStage"]["Properties"]
    assert stage["RestApiId"] == {"Ref": "Api"}
    assert stage["DeploymentId"] == {"Ref": "ApiDeployment"}
    assert resources["ApiDeployment"]["Type"] == "AWS::ApiGateway::Deployment"
    methods = {k for k, v in resources.items() if v["Type"] == "AWS::ApiGateway::Method"}
    assert set(resources["ApiDeployment"]["DependsOn"]) == methods
    assert stage["MethodSettings"][1]["CacheTtlInSeconds"] == 600
    get_public = resources["ApiGetPublicMethod"]["Properties"]
    assert get_public["RestApiId"] == {"Ref": "Api"}
    assert get_public["ResourceId"] == {"Ref": "ApiPublicResource"}
    assert get_public["RequestParameters"] == {
        "method.request.querystring.page": False,
        "method.request.header.Accept-Language": False,
    }
    assert get_public["Integration"]["Type"] == "AWS_PROXY"
    assert get_public["Integration"]["CacheKeyParameters"] == [
        "method.request.querystring.page",
        "method.request.header.Accept-Language",
    ]
    pk = resources["ApiItemsPkResource"]["Properties"]
    assert pk["ParentId"] == {"Ref": "ApiItemsResource"} and pk["PathPart"] == "{pk}"
    assert "ApiGetNeverMethod" not in resources
    assert resources["FunctionPermission"]["Properties"]["Principal"] == "apigateway.amazonaws.com"


@pytest.mark.parametrize("template", ["sam", "cloudformation"])
@pytest.mark.parametrize("source", ["django", "flask"])
def test_generated_templates_pass_cfn_lint(template: str, source: str) -> None:
    routes = django_routes("tests.django.edge_urls") if source == "django" else None
    routes = routes if routes is not None else flask_routes(create_app())
    document = quiet(stage_template, routes, template=template)
    for fmt in ("yaml", "json"):
        assert lint_messages(render(document, fmt)) == []


def test_cfn_lint_catches_what_the_old_fragment_lacked() -> None:
    """The check is real: a method without its API and resource is an error."""
    fragment = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "GetMethod": {"Type": "AWS::ApiGateway::Method", "Properties": {"HttpMethod": "GET"}}
        },
    }
    messages = lint_messages(render(fragment, "yaml"))
    assert any("RestApiId" in m for m in messages) and any("ResourceId" in m for m in messages)


def test_bad_template_arguments() -> None:
    with pytest.raises(ConfigurationError, match="template must be one of"):
        stage_template([], template="terraform")
    with pytest.raises(ConfigurationError, match="cache cluster size"):
        stage_template([], cache_cluster_size="2")
    with pytest.raises(ConfigurationError, match=r"HTTP APIs .* have no stage cache"):
        stage_template([EdgeRoute("/a", "a", CACHED)], api_type="http")


@pytest.mark.parametrize("template", ["sam", "cloudformation"])
def test_colliding_slugs_get_distinct_logical_ids(template: str) -> None:
    routes = [EdgeRoute(path, path, CACHED) for path in ("/a/b", "/a-b", "/a_b")]
    document = stage_template(routes, template=template)
    resources = document["Resources"]
    if template == "sam":
        generated = {k: v for k, v in resources["Function"]["Properties"]["Events"].items()}
        assert {"GetAB", "GetAB2", "GetAB3"} <= set(generated)
        paths = [generated[k]["Properties"]["Path"] for k in ("GetAB", "GetAB2", "GetAB3")]
        assert paths == ["/a/b", "/a-b", "/a_b"]
    else:
        assert {"ApiGetABMethod", "ApiGetAB2Method", "ApiGetAB3Method"} <= set(resources)
    assert lint_messages(render(document, "yaml")) == []


def test_cache_authorization_patches() -> None:
    routes = [EdgeRoute("/a/{pk}", "a", CACHED)]
    patches = cache_authorization_patches(routes)
    assert {p["path"] for p in patches} == {
        "/*/*/caching/requireAuthorizationForCacheControl",
        "/*/*/caching/unauthorizedCacheControlHeaderStrategy",
        "/~1a~1{pk}/GET/caching/requireAuthorizationForCacheControl",
        "/~1a~1{pk}/GET/caching/unauthorizedCacheControlHeaderStrategy",
    }
    assert {p["value"] for p in patches} == {"true", "FAIL_WITH_403"}
    with pytest.raises(ConfigurationError, match="unauthorized strategy must be one of"):
        cache_authorization_patches(routes, "IGNORE")


def test_set_cache_authorization_on_a_deployed_stage(aws_env: str) -> None:
    client: Any = boto3.client("apigateway")
    api = client.create_rest_api(name="t")["id"]
    root = client.get_resources(restApiId=api)["items"][0]["id"]
    resource = client.create_resource(restApiId=api, parentId=root, pathPart="a")["id"]
    client.put_method(
        restApiId=api, resourceId=resource, httpMethod="GET", authorizationType="NONE"
    )
    client.put_integration(restApiId=api, resourceId=resource, httpMethod="GET", type="MOCK")
    client.create_deployment(restApiId=api, stageName="prod")
    settings = set_cache_authorization(
        api, "prod", [EdgeRoute("/a", "a", CACHED)], strategy="SUCCEED_WITH_RESPONSE_HEADER"
    )
    stage = client.get_stage(restApiId=api, stageName="prod")["methodSettings"]
    assert stage == settings
    for target in ("*/*", "~1a/GET"):
        assert stage[target]["requireAuthorizationForCacheControl"] is True
        assert stage[target]["unauthorizedCacheControlHeaderStrategy"] == (
            "SUCCEED_WITH_RESPONSE_HEADER"
        )
