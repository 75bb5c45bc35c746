"""Route helpers shared by the Django and Flask route finders and the AWS generators."""

from __future__ import annotations

import pytest

from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.routes import EdgeRoute, logical_ids, path_template

POLICY = CachePolicy(public=True, max_age=60)


@pytest.mark.parametrize(
    ("rule", "template"),
    [
        ("/articles/<int:pk>/", "/articles/{pk}/"),
        ("/articles/<pk>", "/articles/{pk}"),
        ("/files/<path:rest>", "/files/{rest+}"),
        ("/<any(a, b):kind>/<string(length=2):code>", "/{kind}/{code}"),
        ("/<slug:slug>/<uuid:id>", "/{slug}/{id}"),
        ("/plain", "/plain"),
    ],
)
def test_path_template(rule: str, template: str) -> None:
    assert path_template(rule) == template


def test_logical_ids_are_unique_when_slugs_collide() -> None:
    routes = [EdgeRoute(path, "v", POLICY) for path in ("/a/b", "/a-b", "/a_b", "/AB2", "/c")]
    assert [route.slug for route in routes] == ["AB", "AB", "AB", "AB2", "C"]
    ids = logical_ids(routes)
    assert ids == ["AB", "AB3", "AB4", "AB2", "C"]  # a unique slug keeps its id
    assert len(set(ids)) == len(routes)
