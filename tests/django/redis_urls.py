"""A view that uses the Redis cache the way a Lambda app does, for the Mangum test."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.urls import path


async def visits(request: HttpRequest) -> JsonResponse:
    if await cache.aadd("visits", 0, None):
        pass
    count = await cache.aincr("visits")
    await cache.aset("last-visit", {"count": count}, 60)
    return JsonResponse({"count": count, "last": await cache.aget("last-visit")})


urlpatterns = [path("visits/", visits)]
