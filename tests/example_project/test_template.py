"""example_project/template.yaml is what the example apps' own policies generate, and it passes
cfn-lint: config and code cannot drift."""

from __future__ import annotations

from example_project import template
from tests.fixtures.cfn_lint import lint_messages


def test_template_is_regenerated_from_the_apps_policies_without_a_difference() -> None:
    assert template.PATH.read_text() == template.text(), (
        "example_project/template.yaml differs from the apps' policies: "
        "run `python -m example_project.template`"
    )


def test_template_follows_the_django_views() -> None:
    document = template.build()
    settings = document["Resources"]["Api"]["Properties"]["MethodSettings"]
    cached = {s["ResourcePath"]: s["CacheTtlInSeconds"] for s in settings if s["CachingEnabled"]}
    routes = {route.path: route.policy for route in template.django_routes()}
    assert cached == {
        "/~1" + path.strip("/").replace("/", "~1"): policy.shared_max_age
        for path, policy in routes.items()
        if policy.stage_cache
    }
    assert cached  # the example opts its product routes in
    events = document["Resources"]["DjangoFunction"]["Properties"]["Events"]
    assert {e["Properties"]["Path"] for e in events.values() if e["Type"] == "Api"} == {
        "/",
        "/{proxy+}",
        *(path for path, policy in routes.items() if policy.stage_cache),  # the rest: {proxy+}
    }


def test_template_passes_cfn_lint() -> None:
    assert lint_messages(template.PATH.read_text()) == []
