"""Options shared by the commands that read an application's routes."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from serverless_cache.errors import ConfigurationError
from serverless_cache.http.routes import EdgeRoute


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--django",
        metavar="SETTINGS",
        help="Django settings module; routes come from its ROOT_URLCONF",
    )
    source.add_argument(
        "--flask",
        metavar="MODULE:APP",
        help="Flask app (or a factory to call) as module:attribute; routes come from url_map",
    )
    parser.add_argument("--urlconf", help="Django URLconf module to read instead of ROOT_URLCONF")
    parser.add_argument(
        "--pythonpath",
        action="append",
        metavar="DIR",
        help="a directory to import the settings or app from (repeatable; the current "
        "directory is always searched), as manage.py --pythonpath",
    )
    parser.add_argument(
        "--route",
        action="append",
        metavar="PATH",
        help="only this path, in API Gateway form such as /articles/{pk} (repeatable; "
        "default: every decorated route)",
    )


def load_routes(args: argparse.Namespace) -> list[EdgeRoute]:
    """The decorated routes of the application named on the command line."""
    for directory in [os.getcwd(), *reversed(args.pythonpath or [])]:
        directory = os.path.abspath(directory)
        if directory not in sys.path:
            sys.path.insert(0, directory)
    if args.django:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.django
        import django

        django.setup()
        from serverless_cache.django.routes import edge_routes

        routes = edge_routes(args.urlconf)
    else:
        from flask import Flask

        from serverless_cache.flask.routes import edge_routes as flask_routes

        module_name, _, attribute = args.flask.partition(":")
        app = getattr(importlib.import_module(module_name), attribute or "app")
        if not isinstance(app, Flask) and callable(app):
            app = app()
        if not isinstance(app, Flask):
            raise ConfigurationError(f"--flask {args.flask}: not a Flask app or app factory")
        routes = flask_routes(app)
    if args.route:
        wanted = {"/" + r.strip("/") for r in args.route}
        routes = [route for route in routes if route.path in wanted]
        missing = wanted - {route.path for route in routes}
        if missing:
            raise ConfigurationError(
                f"no decorated route at {', '.join(sorted(missing))}; "
                "use the API Gateway form, e.g. /articles/{pk}"
            )
    return routes
