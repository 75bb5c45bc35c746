"""The example Flask app: ``@cache.memoize`` on data, ``@cache.cached`` on a page, edge headers."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, make_response
from flask.typing import ResponseReturnValue
from flask_caching import Cache

from example_project import cache_config, database
from serverless_cache.flask import EdgeCache, edge_cache

app = Flask(__name__)
CACHE_CONFIG = {
    "CACHE_TYPE": "serverless_cache.flask.ExecutionContextCache",
    "CACHE_DEFAULT_TIMEOUT": 300,
    "CACHE_OPTIONS": {"name": "example-flask", "max_entries": 5_000},
}
# The demo's runs with Redis or DynamoDB (EXAMPLE_CACHE_TIERS) layer the cache above over them.
cache = Cache(app, config=cache_config.flask_config(CACHE_CONFIG))
EdgeCache(app)


@cache.memoize(timeout=cache_config.PRODUCT_TTL)
def load_product(product_id: int) -> dict[str, Any]:
    """A product, from the cache or (on a miss) from the database."""
    return database.fetch_product(product_id)


@app.get("/products/<int:product_id>")
@edge_cache(public=True, max_age=30, s_maxage=cache_config.EDGE_TTL)
def product(product_id: int) -> ResponseReturnValue:
    return jsonify(load_product(product_id))


@app.get("/pages/<int:product_id>")
@edge_cache(public=True, max_age=30, s_maxage=cache_config.EDGE_TTL)
@cache.cached(timeout=cache_config.PAGE_TTL)
def product_page(product_id: int) -> ResponseReturnValue:
    data = database.fetch_product(product_id)
    return f"<h1>{data['name']}</h1><p>{data['price_cents'] / 100:.2f}</p>"


@app.get("/account/<int:account_id>")
@edge_cache(private=True, max_age=30)
def account(account_id: int) -> ResponseReturnValue:
    """A per-user response with cookies: the browser may keep it, no shared cache may (the
    Zappa tests check its cookies and headers through Zappa's handler)."""
    response = make_response(jsonify({"account": account_id}))
    response.set_cookie("session", f"s{account_id}", httponly=True, secure=True)
    response.set_cookie("theme", "dark")
    return response
