"""Views for the Django edge caching tests (one per behaviour)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path
from django.utils.cache import patch_cache_control
from django.views import View
from django.views.decorators.cache import cache_page

from serverless_cache.django import edge_cache, no_edge_cache
from serverless_cache.http import CachePolicy

SHARED = {"public": True, "max_age": 60, "s_maxage": 600}


@edge_cache(**SHARED, vary=["Accept-Language"], query_strings=["page"], stage_cache=True)
def public(request: HttpRequest) -> HttpResponse:
    return HttpResponse("public")


@edge_cache(**SHARED)
def sets_cookie(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("cookie")
    response.set_cookie("theme", "dark")
    response.set_cookie("lang", "fr")
    return response


@edge_cache(**SHARED, force_shared=True)
def forced(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("forced")
    response.set_cookie("theme", "dark")
    return response


@edge_cache(**SHARED)
def reads_session(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"hello {request.session.get('user', 'anonymous')}")


@edge_cache(**SHARED)
def api(request: HttpRequest) -> HttpResponse:
    return HttpResponse("data")


@edge_cache(**SHARED, stale_if_error=3600)
def outage(request: HttpRequest) -> HttpResponse:
    return HttpResponse("down", status=503)


@edge_cache(**SHARED)
def view_made_private(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("mine")
    patch_cache_control(response, private=True, max_age=5, no_transform=True)
    return response


@edge_cache(CachePolicy(public=True, max_age=30))
async def async_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async")


@edge_cache(public=True, s_maxage=120)
class ClassView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("class")

    def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("posted")


@edge_cache(public=True, s_maxage=90)
class AsyncClassView(View):
    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("async class")


@no_edge_cache
def never(request: HttpRequest) -> HttpResponse:
    return HttpResponse("never")


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain")


def plain_error(request: HttpRequest) -> HttpResponse:
    return HttpResponse("boom", status=500)


def hand_written(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("hand written")
    response["Cache-Control"] = "public, s-maxage=600"
    response.set_cookie("tracking", "1")
    return response


@edge_cache(**SHARED)
@cache_page(30)
def cached_inside(request: HttpRequest) -> HttpResponse:
    return HttpResponse("cache_page inside")


@cache_page(30)
@edge_cache(**SHARED)
def cached_outside(request: HttpRequest) -> HttpResponse:
    return HttpResponse("cache_page outside")


@edge_cache(public=True, s_maxage=7200, vary=["Accept"], cookies=["currency"], stage_cache=True)
def article(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(f"article {pk}")


@edge_cache(public=True, max_age=300, stage_cache=True)
def legacy(request: HttpRequest, slug: str) -> HttpResponse:
    return HttpResponse(slug)


@edge_cache(public=True, max_age=10, query_strings=["*"])
def search(request: HttpRequest) -> HttpResponse:
    return HttpResponse("search")


urlpatterns = [
    path("public/", public),
    path("cookie/", sets_cookie),
    path("forced/", forced),
    path("session/", reads_session),
    path("api/", api),
    path("outage/", outage),
    path("made-private/", view_made_private),
    path("async/", async_view),
    path("class/", ClassView.as_view()),
    path("async-class/", AsyncClassView.as_view()),
    path("never/", never),
    path("plain/", plain),
    path("plain-error/", plain_error),
    path("hand-written/", hand_written),
    path("cached-inside/", cached_inside),
    path("cached-outside/", cached_outside),
    path("articles/<int:pk>/", article, name="article"),
    re_path(r"^legacy/(?P<slug>[-\w]+)/$", legacy),
    path("files/<path:rest>", search),
]
