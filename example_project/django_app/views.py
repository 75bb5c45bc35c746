"""Two ways to spare the slow database (``get_or_set``, ``cache_page``), and edge headers."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_page

from example_project import cache_config, database
from serverless_cache.django import edge_cache


@edge_cache(public=True, max_age=30, s_maxage=cache_config.EDGE_TTL, stage_cache=True)
def product(request: HttpRequest, product_id: int) -> JsonResponse:
    """A product as JSON, from the cache or (on a miss) from the database."""
    data = cache.get_or_set(
        f"product:{product_id}",
        lambda: database.fetch_product(product_id),
        cache_config.PRODUCT_TTL,
    )
    return JsonResponse(data)


@cache_page(cache_config.PAGE_TTL)  # outside edge_cache: the safe order (check W003)
@edge_cache(public=True, max_age=30, s_maxage=cache_config.EDGE_TTL, stage_cache=True)
def product_page(request: HttpRequest, product_id: int) -> HttpResponse:
    """A rendered product page; the whole response is cached."""
    data = database.fetch_product(product_id)
    return HttpResponse(f"<h1>{data['name']}</h1><p>{data['price_cents'] / 100:.2f}</p>")


@edge_cache(private=True, max_age=30)
def account(request: HttpRequest, account_id: int) -> JsonResponse:
    """A per-user response with cookies: the browser may keep it, no shared cache may (the
    Zappa tests check its cookies and headers through Zappa's handler)."""
    response = JsonResponse({"account": account_id})
    response.set_cookie("session", f"s{account_id}", httponly=True, secure=True)
    response.set_cookie("theme", "dark")
    return response
