"""Find the views decorated with ``@edge_cache`` (or in a decorated blueprint) in a Flask app."""

from __future__ import annotations

import warnings

from flask import Flask

from serverless_cache.flask.edge import EXTENSION_KEY, MISSING_EXTENSION, POLICY_ATTRIBUTE
from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.routes import EdgeRoute, api_path, path_template


class EdgeRouteWarning(UserWarning):
    """The app's edge routes are not fully protected (EdgeCache is missing)."""


def edge_routes(app: Flask) -> list[EdgeRoute]:
    """Every GET rule of the app whose view (or blueprint) has an edge policy; warns when the
    app has such routes but no :class:`~serverless_cache.flask.EdgeCache`."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        policy = _policy(app, rule.endpoint)
        if policy is not None:
            routes.append(EdgeRoute(api_path(path_template(rule.rule)), rule.endpoint, policy))
    if routes and EXTENSION_KEY not in app.extensions:
        warnings.warn(MISSING_EXTENSION % (app.name,), EdgeRouteWarning, stacklevel=2)
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
