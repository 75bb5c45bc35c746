"""The edge-header pipeline over a plain header view: one merge of Vary, one write of
Cache-Control, and the same answer when it runs again on its own output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from serverless_cache.http.pipeline import Later, finish, merge_vary
from serverless_cache.http.policy import CachePolicy
from serverless_cache.http.safety import forget_logged

SHARED = CachePolicy(public=True, max_age=60, s_maxage=600)


@pytest.fixture(autouse=True)
def fresh_log() -> Iterator[None]:
    forget_logged()
    yield
    forget_logged()


class Headers:
    """A case-insensitive dict of header -> list of values, recording every write."""

    def __init__(self, **values: str | list[str]) -> None:
        self.values = {
            k.replace("_", "-").lower(): [v] if isinstance(v, str) else v for k, v in values.items()
        }
        self.writes: list[str] = []

    def get(self, name: str) -> str | None:
        found = self.values.get(name.lower())
        return ", ".join(found) if found else None

    def set(self, name: str, value: str) -> None:
        self.writes.append(name)
        self.values[name.lower()] = [value]

    def delete(self, name: str) -> None:
        self.writes.append(f"-{name}")
        self.values.pop(name.lower(), None)


def run(
    response: Headers,
    request: Headers | None = None,
    policy: CachePolicy | None = SHARED,
    **options: object,
) -> CachePolicy:
    fields: dict[str, object] = {"method": "GET", "status": 200, "where": "t", **options}
    return finish(response, request or Headers(), policy=policy, **fields)  # type: ignore[arg-type]


def test_policy_and_vary_are_written_once() -> None:
    response = Headers(vary="Accept")
    run(response, policy=CachePolicy(public=True, s_maxage=60, vary=("accept", "Origin")))
    assert response.get("Cache-Control") == "public, s-maxage=60"
    assert response.get("Vary") == "Accept, Origin"
    again = list(response.writes)
    run(response, policy=None)
    assert response.writes == again  # running again on its own output writes nothing


@pytest.mark.parametrize(
    ("existing", "added", "merged"),
    [
        (None, ["Accept"], "Accept"),
        ("accept", ["Accept", "Cookie"], "accept, Cookie"),
        ("*", ["Cookie"], "*"),
        ("Accept", ["*"], "*"),
        ("Accept,  Origin", [], "Accept, Origin"),
    ],
)
def test_merge_vary(existing: str | None, added: list[str], merged: str) -> None:
    assert merge_vary(existing, added) == merged


def test_only_get_and_head_get_the_policy_but_every_method_the_rule() -> None:
    post = Headers()
    run(post, method="POST")
    assert post.get("Cache-Control") is None
    cookie = Headers(cache_control="public, s-maxage=60", set_cookie="sid=1")
    run(cookie, method="POST", policy=None)
    assert cookie.get("Cache-Control") == "private"
    assert run(Headers(), method="HEAD").cache_control == SHARED.cache_control


@pytest.mark.parametrize(
    ("response", "request_headers", "later"),
    [
        ({"set_cookie": "sid=1; HttpOnly"}, {}, Later()),
        ({}, {}, Later(sets_cookie=True)),
        ({}, {"authorization": "Bearer x"}, Later()),
        ({"vary": "Cookie"}, {"cookie": "auth_token=abc"}, Later()),
        ({}, {"cookie": "remember=1"}, Later(varies_on_cookie=True)),
        ({"vary": "Accept, *"}, {}, Later()),
    ],
    ids=["set-cookie", "cookie-later", "authorization", "vary-cookie", "vary-later", "vary-star"],
)
def test_personal_exchanges_leave_private(
    response: dict[str, str], request_headers: dict[str, str], later: Later
) -> None:
    headers = Headers(**response)
    run(headers, Headers(**request_headers), later=later)
    assert headers.get("Cache-Control") == "private, max-age=60"


def test_expires_without_cache_control_is_caught() -> None:
    headers = Headers(expires="Wed, 21 Oct 2099 07:28:00 GMT", set_cookie="sid=1")
    run(headers, policy=None)
    assert headers.get("Cache-Control") == "private"
    anonymous = Headers(expires="Wed, 21 Oct 2099 07:28:00 GMT")
    run(anonymous, policy=None)
    assert anonymous.get("Cache-Control") is None


def test_later_vary_cookie_is_written_now() -> None:
    """So that a cache in between (Django's cache_page) keys on Cookie too."""
    headers = Headers()
    run(headers, later=Later(varies_on_cookie=True))
    assert headers.get("Vary") == "Cookie"
    assert headers.get("Cache-Control") == SHARED.cache_control  # no cookie was sent


def test_force_shared_keeps_the_lifetime_and_is_reported() -> None:
    headers = Headers(set_cookie="theme=dark")
    final = run(headers, policy=None, force_shared=True)
    assert final.force_shared
    assert headers.get("Cache-Control") is None
    forced = Headers(set_cookie="theme=dark")
    run(forced, policy=SHARED, force_shared=True)
    assert forced.get("Cache-Control") == SHARED.cache_control


def test_server_error_replaces_the_lifetime() -> None:
    headers = Headers(cache_control="public, max-age=60")
    run(headers, policy=None, status=500)
    assert headers.get("Cache-Control") == "no-store"


def test_header_with_nothing_valid_left_is_deleted() -> None:
    headers = Headers(cache_control="s-max-age=60")  # a misspelling caches ignore
    run(headers, policy=None)
    assert headers.get("Cache-Control") is None
    assert headers.writes == ["-Cache-Control"]
