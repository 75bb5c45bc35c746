"""API Gateway stage cache settings generated from Django and Flask routes, field by field."""

from __future__ import annotations

import pytest

from serverless_cache.aws.apigateway import (
    EdgeConfigWarning,
    cache_key_parameters,
    cache_ttl,
    resource_path,
    stage_template,
)
from serverless_cache.django.routes import EdgeRouteWarning
from serverless_cache.django.routes import edge_routes as django_routes
from serverless_cache.flask.routes import edge_routes as flask_routes
from serverless_cache.http import CachePolicy
from serverless_cache.http.routes import EdgeRoute
from tests.flask.edge_app import create_app


def routes_by_path(routes: list[EdgeRoute]) -> dict[str, EdgeRoute]:
    return {route.path: route for route in routes}


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


def test_resource_paths_and_ttls() -> None:
    assert resource_path("/") == "/"
    assert resource_path("/articles/{pk}") == "/~1articles~1{pk}"
    route = EdgeRoute("/a", "a", CachePolicy(public=True, max_age=60, s_maxage=7200))
    with pytest.warns(EdgeConfigWarning, match="7200s exceeds .* clamped to 3600s"):
        assert cache_ttl(route) == 3600
    assert cache_ttl(EdgeRoute("/a", "a", CachePolicy(max_age=0))) == 0
    assert cache_ttl(EdgeRoute("/a", "a", CachePolicy(private=True, max_age=60))) == 0
    with pytest.warns(EdgeConfigWarning, match="all query strings"):
        assert cache_ttl(EdgeRoute("/a", "a", CachePolicy(max_age=9, query_strings="*"))) == 0


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
        cookies = cache_key_parameters(EdgeRoute("/b", "b", CachePolicy(max_age=1, cookies="c")))
    assert cookies == ["method.request.header.Cookie"]


def _flask_template(template: str) -> dict[str, object]:
    routes = [
        r for r in flask_routes(create_app()) if r.path in ("/public", "/never", "/items/{pk}")
    ]
    return stage_template(routes, template=template, stage="live", cache_cluster_size="1.6")


def test_sam_template_field_by_field() -> None:
    resources = _flask_template("sam")["Resources"]
    assert isinstance(resources, dict)
    api = resources["Api"]
    assert api["Type"] == "AWS::Serverless::Api"
    properties = api["Properties"]
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
        },
        {"ResourcePath": "/~1never", "HttpMethod": "GET", "CachingEnabled": False},
        {
            "ResourcePath": "/~1items~1{pk}",
            "HttpMethod": "GET",
            "CachingEnabled": True,
            "CacheTtlInSeconds": 75,
        },
    ]
    events = resources["Function"]["Properties"]["Events"]
    assert set(events) == {"GetPublic", "GetItemsPk"}
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
    resources = _flask_template("cloudformation")["Resources"]
    assert isinstance(resources, dict)
    stage = resources["ApiStage"]
    assert stage["Type"] == "AWS::ApiGateway::Stage"
    assert stage["Properties"]["RestApiId"] == {"Ref": "Api"}
    assert stage["Properties"]["DeploymentId"] == {"Ref": "ApiDeployment"}
    assert stage["Properties"]["MethodSettings"][1]["CacheTtlInSeconds"] == 600
    assert resources["GetPublicMethod"] == {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "HttpMethod": "GET",
            "RequestParameters": {
                "method.request.querystring.page": False,
                "method.request.header.Accept-Language": False,
            },
            "Integration": {
                "CacheKeyParameters": [
                    "method.request.querystring.page",
                    "method.request.header.Accept-Language",
                ]
            },
        },
    }
    assert "GetNeverMethod" not in resources


def test_bad_template_arguments() -> None:
    with pytest.raises(ValueError, match="template must be one of"):
        stage_template([], template="terraform")
    with pytest.raises(ValueError, match="cache cluster size"):
        stage_template([], cache_cluster_size="2")


def test_no_cache_and_stale_only_routes_are_not_cached() -> None:
    """API Gateway cannot revalidate, so a no-cache response is never kept there."""
    no_cache = EdgeRoute("/a", "a", CachePolicy(no_cache=True, max_age=60, s_maxage=600))
    assert cache_ttl(no_cache) == 0
    stale = EdgeRoute("/b", "b", CachePolicy(max_age=0, stale_while_revalidate=600))
    assert cache_ttl(stale) == 0
    settings = stage_template([no_cache, stale])["Resources"]["Api"]["Properties"]
    assert [s["CachingEnabled"] for s in settings["MethodSettings"]] == [False, False, False]


@pytest.mark.parametrize("template", ["sam", "cloudformation"])
def test_colliding_slugs_get_distinct_logical_ids(template: str) -> None:
    policy = CachePolicy(public=True, s_maxage=60)
    routes = [EdgeRoute(path, path, policy) for path in ("/a/b", "/a-b", "/a_b")]
    resources = stage_template(routes, template=template)["Resources"]
    if template == "sam":
        generated = resources["Function"]["Properties"]["Events"]
        assert set(generated) == {"GetAB", "GetAB2", "GetAB3"}
    else:
        generated = {k: v for k, v in resources.items() if k != "ApiStage"}
        assert set(generated) == {"GetABMethod", "GetAB2Method", "GetAB3Method"}
    assert len(generated) == len(routes)
    if template == "sam":
        assert [e["Properties"]["Path"] for e in generated.values()] == ["/a/b", "/a-b", "/a_b"]
