"""Find the views decorated with ``@edge_cache`` (or in a decorated blueprint) in a Flask app."""

from __future__ import annotations

from flask import Flask

from serverless_cache.flask.edge import POLICY_ATTRIBUTE
from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.routes import EdgeRoute, api_path, path_template


def edge_routes(app: Flask) -> list[EdgeRoute]:
    """Every GET rule of the app whose view (or blueprint) has an edge policy."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        policy = _policy(app, rule.endpoint)
        if policy is not None:
            routes.append(EdgeRoute(api_path(path_template(rule.rule)), rule.endpoint, policy))
    return routes


def _policy(app: Flask, endpoint: str) -> CachePolicy | None:
    view = app.view_functions.get(endpoint)
    own: CachePolicy | None = getattr(view, POLICY_ATTRIBUTE, None)
    if own is None:
        own = getattr(getattr(view, "view_class", None), POLICY_ATTRIBUTE, None)
    blueprint_name = endpoint.rpartition(".")[0]
    while blueprint_name:
        inherited = getattr(app.blueprints.get(blueprint_name), POLICY_ATTRIBUTE, None)
        if inherited is not None:
            own = inherited if own is None else own.merge(inherited)
        blueprint_name = blueprint_name.rpartition(".")[0]
    return own
