"""The cache policy of a response: one value that renders ``Cache-Control`` and ``Vary``.

The same value drives the API Gateway stage cache and the CloudFront cache policy
(:mod:`serverless_cache.aws`), so the headers and the edge configuration cannot drift apart.
Validation happens when the policy is built (at decoration time), so a contradictory or
misspelt directive is an error at import, not a silently ignored header in production.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
from collections.abc import Iterable
from typing import Any

from serverless_cache.errors import ConfigurationError

logger = logging.getLogger("serverless_cache.http")

#: The attribute a decorated view (function, class or blueprint) carries, read by the route
#: finders that generate the API Gateway and CloudFront configuration.
POLICY_ATTRIBUTE = "edge_cache_policy"
#: Only responses to these methods get a policy: nothing else is cached at the edge.
SAFE_METHODS = ("GET", "HEAD")

#: RFC 9110 token: what header names and directive names are made of.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_AGES = ("max_age", "s_maxage", "stale_while_revalidate", "stale_if_error")
_FLAGS = ("public", "private", "no_cache", "no_store", "must_revalidate", "immutable")
#: Directive names this class models, as they appear in the header.
KNOWN_DIRECTIVES = frozenset(name.replace("_", "-") for name in (*_AGES, *_FLAGS))


def _names(value: str | Iterable[str], field: str) -> tuple[str, ...]:
    """A tuple of distinct names (case-insensitive, first spelling kept) from a str or iterable."""
    items = [value] if isinstance(value, str) else list(value)
    seen: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConfigurationError(f"CachePolicy {field}: names must be non-empty strings")
        seen.setdefault(item.strip().lower(), item.strip())
    return tuple(seen.values())


@dataclasses.dataclass(frozen=True)
class CachePolicy:
    """How caches may keep a response, and what its cache key is made of.

    Ages are whole seconds (``None`` = directive absent). ``vary`` lists the request headers
    the response depends on; ``query_strings``, ``headers`` and ``cookies`` are the extra
    cache-key inputs for API Gateway and CloudFront (``"*"`` = all query strings or cookies).
    ``force_shared`` lets a response that sets a cookie or answers a request with credentials
    keep its shared-cache lifetime; without it the safety rule makes it ``private``.
    ``stage_cache`` opts the route into API Gateway's stage cache, which ignores
    ``Cache-Control`` and keys only on the path and the declared parameters (never on cookies or
    identity): set it only where the answer is the same for every caller.
    ``extensions`` keeps directives this class does not model (``no-transform``...) so that
    merging a parsed header never drops them.
    """

    max_age: int | None = None
    s_maxage: int | None = None
    stale_while_revalidate: int | None = None
    stale_if_error: int | None = None
    public: bool = False
    private: bool = False
    no_cache: bool = False
    no_store: bool = False
    must_revalidate: bool = False
    immutable: bool = False
    vary: tuple[str, ...] = ()
    query_strings: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    cookies: tuple[str, ...] = ()
    force_shared: bool = False
    stage_cache: bool = False
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _AGES:
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ConfigurationError(
                    f"CachePolicy {name} must be a whole number of seconds >= 0 or None, "
                    f"got {value!r}"
                )
        for name in (*_FLAGS, "force_shared", "stage_cache"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"CachePolicy {name} must be True or False")
        for name in ("vary", "query_strings", "headers", "cookies", "extensions"):
            object.__setattr__(self, name, _names(getattr(self, name), name))
        for name in (*self.vary, *self.headers):
            if not _TOKEN.match(name):
                raise ConfigurationError(f"CachePolicy: {name!r} is not a valid header name")
        if any(name == "*" for name in (*self.vary, *self.headers)):
            raise ConfigurationError(
                "CachePolicy vary: '*' makes a response uncacheable; use no_store=True instead"
            )
        for name in (*self.query_strings, *self.cookies):
            if any(c in name for c in ",;= \t") or ("*" in name and name != "*"):
                raise ConfigurationError(f"CachePolicy: {name!r} is not a valid cache-key name")
        for extension in self.extensions:
            _check_extension(extension)
        self._check_contradictions()

    def _check_contradictions(self) -> None:
        def fail(why: str) -> None:
            raise ConfigurationError(f"CachePolicy: {why}")

        if self.public and self.private:
            fail("public and private contradict each other; choose one")
        if self.private and self.s_maxage is not None:
            fail("s_maxage is for shared caches and private forbids them; drop one")
        if self.no_store:
            kept = [
                n for n in ("public", "immutable", *_AGES) if getattr(self, n) not in (None, False)
            ]
            if kept:
                fail(f"no_store forbids keeping the response, so {', '.join(kept)} cannot apply")
        if self.immutable and self.no_cache:
            fail("immutable (never revalidate) contradicts no_cache (always revalidate)")
        if self.immutable and self.max_age is None:
            fail("immutable needs max_age: it only holds during the freshness lifetime")
        if self.stage_cache and not self.shared_max_age:
            fail(
                "stage_cache needs a shared lifetime API Gateway can keep (s_maxage or max_age "
                "> 0, without private, no_store or no_cache)"
            )

    # -- what the policy means -----------------------------------------------------------------
    @property
    def shared_max_age(self) -> int | None:
        """Seconds a shared cache may serve it without asking the origin; None = never.

        ``no-cache`` gives None: it may be stored, but only served after revalidation, which
        API Gateway's cache cannot do.
        """
        if self.private or self.no_store or self.no_cache:
            return None
        return self.s_maxage if self.s_maxage is not None else self.max_age

    @property
    def is_shared(self) -> bool:
        """True when a shared cache may store the response.

        Any lifetime counts, ``max-age=0`` and the stale directives included: CloudFront
        stores such a response (serving it stale, or for its DefaultTTL without max-age).
        """
        return not (self.private or self.no_store) and (
            self.public or any(getattr(self, age) is not None for age in _AGES)
        )

    def as_private(self) -> CachePolicy:
        """The same policy for the browser only: no public, no s-maxage."""
        return dataclasses.replace(
            self,
            public=False,
            private=not self.no_store,
            s_maxage=None,
            force_shared=False,
            stage_cache=False,
        )

    def key_headers(self) -> tuple[str, ...]:
        """Request headers in the edge cache key: ``vary`` and ``headers`` (Cookie excluded)."""
        names = _names((*self.vary, *self.headers), "headers") if self.vary or self.headers else ()
        return tuple(n for n in names if n.lower() != "cookie")

    def key_cookies(self) -> tuple[str, ...]:
        """Cookies in the edge cache key; ``Vary: Cookie`` without a list means all of them."""
        if self.cookies:
            return self.cookies
        return ("*",) if any(n.lower() == "cookie" for n in self.vary) else ()

    # -- rendering -----------------------------------------------------------------------------
    @property
    def cache_control(self) -> str:
        """The ``Cache-Control`` value, directives in a fixed order; "" for an empty policy."""
        parts: list[str] = []
        for flag in ("public", "private", "no_cache", "no_store", "must_revalidate"):
            if getattr(self, flag):
                parts.append(flag.replace("_", "-"))
        for age in _AGES:
            value = getattr(self, age)
            if value is not None:
                parts.append(f"{age.replace('_', '-')}={value}")
        if self.immutable:
            parts.append("immutable")
        parts.extend(self.extensions)
        return ", ".join(parts)

    @property
    def vary_header(self) -> str:
        return ", ".join(self.vary)

    def response_headers(self) -> dict[str, str]:
        """``Cache-Control`` and ``Vary`` as they should be sent (absent ones left out)."""
        headers = {"Cache-Control": self.cache_control, "Vary": self.vary_header}
        return {name: value for name, value in headers.items() if value}

    # -- parsing and merging -------------------------------------------------------------------
    @classmethod
    def parse(cls, cache_control: str | None, vary: str | None = None) -> CachePolicy:
        """The policy an existing ``Cache-Control`` (and ``Vary``) header expresses.

        Lenient, since the header may come from anywhere: unknown directives are kept as
        extensions (a likely misspelling is logged and dropped), a contradiction resolves to
        the safer side, and invalid values are dropped with a warning.
        """
        fields: dict[str, Any] = {}
        extensions: list[str] = []
        for raw in (cache_control or "").split(","):
            directive, _, value = raw.strip().partition("=")
            name, value = directive.strip().lower(), value.strip().strip('"')
            if not name:
                continue
            field = name.replace("-", "_")
            if field in _AGES:
                if value.isascii() and value.isdigit():
                    fields[field] = min(int(value), fields.get(field, int(value)))
                else:
                    logger.warning("Cache-Control %s=%r is not a number; ignored", name, value)
            elif field in _FLAGS:
                fields[field] = True
            elif not _warn_if_misspelt(name):
                extensions.append(raw.strip())
        vary_names = [v.strip() for v in (vary or "").split(",") if v.strip() and v.strip() != "*"]
        return cls._lenient(fields, vary_names, extensions)

    @classmethod
    def _lenient(
        cls, fields: dict[str, Any], vary: list[str], extensions: list[str]
    ) -> CachePolicy:
        """Build a policy from header facts, resolving contradictions towards caching less."""
        if fields.get("no_store"):
            for name in ("public", "immutable", *_AGES):
                fields.pop(name, None)
        if fields.get("private"):
            fields.pop("public", None)
            fields.pop("s_maxage", None)
        if fields.get("immutable") and (fields.get("no_cache") or "max_age" not in fields):
            fields.pop("immutable")
        kept = [e for e in extensions if _valid_extension(e)]
        return cls(**fields, vary=tuple(vary), extensions=tuple(kept))

    def merge(self, existing: CachePolicy) -> CachePolicy:
        """This policy applied over ``existing`` (what the view already set) without clobbering.

        Django's ``patch_cache_control`` rules: lifetimes take the lower value, ``Vary`` is the
        union, unknown directives are kept. A conflict never makes the response more shareable
        than either side says: ``no-store`` or ``private`` on either side wins.
        """
        fields: dict[str, Any] = {}
        for name in _AGES:
            values = [v for v in (getattr(existing, name), getattr(self, name)) if v is not None]
            if values:
                fields[name] = min(values)
        for name in _FLAGS:
            if getattr(existing, name) or getattr(self, name):
                fields[name] = True
        extensions = list(existing.extensions)
        names = {e.split("=")[0].lower() for e in extensions}
        extensions += [e for e in self.extensions if e.split("=")[0].lower() not in names]
        merged = CachePolicy._lenient(fields, [*existing.vary, *self.vary], extensions)
        return dataclasses.replace(
            merged,
            query_strings=_names((*existing.query_strings, *self.query_strings), "query_strings"),
            headers=_names((*existing.headers, *self.headers), "headers"),
            cookies=_names((*existing.cookies, *self.cookies), "cookies"),
            force_shared=self.force_shared or existing.force_shared,
            stage_cache=(self.stage_cache or existing.stage_cache) and bool(merged.shared_max_age),
        )


def _check_extension(extension: str) -> None:
    name = extension.split("=")[0].strip().lower()
    if not _valid_extension(extension):
        raise ConfigurationError(f"CachePolicy extensions: {extension!r} is not a directive")
    if name in KNOWN_DIRECTIVES:
        field = name.replace("-", "_")
        raise ConfigurationError(
            f"CachePolicy extensions: {name!r} is modelled; pass {field}=... instead"
        )
    suggestion = _suggest(name)
    if suggestion:
        raise ConfigurationError(
            f"CachePolicy extensions: unknown directive {name!r}; did you mean {suggestion!r}?"
        )


def _valid_extension(extension: str) -> bool:
    """A directive name, optionally ``=value``, with nothing that would split the header."""
    name, _, value = extension.partition("=")
    return bool(_TOKEN.match(name.strip())) and not any(c in value for c in ',"')


#: Standard directives that are not modelled but are fine to pass through as extensions.
_OTHER_STANDARD = frozenset({"no-transform", "proxy-revalidate", "must-understand"})


def _suggest(name: str) -> str | None:
    """The known directive ``name`` is probably a misspelling of, if any."""
    if name in _OTHER_STANDARD:
        return None
    squashed = {d.replace("-", ""): d for d in KNOWN_DIRECTIVES}
    if name.replace("-", "").replace("_", "") in squashed:
        return squashed[name.replace("-", "").replace("_", "")]
    close = difflib.get_close_matches(name, sorted(KNOWN_DIRECTIVES), n=1, cutoff=0.8)
    return close[0] if close else None


def _warn_if_misspelt(name: str) -> bool:
    """Log (and return True) when ``name`` looks like a misspelt known directive."""
    suggestion = _suggest(name)
    if suggestion:
        logger.warning(
            "Cache-Control directive %r is unknown and caches ignore it, so it is dropped; "
            "did you mean %r?",
            name,
            suggestion,
        )
    return suggestion is not None


def build_policy(policy: CachePolicy | None, directives: dict[str, Any]) -> CachePolicy:
    """The policy a decorator was given, as a CachePolicy or as keyword directives."""
    if policy is not None and directives:
        raise ConfigurationError("edge_cache: pass either a CachePolicy or directives, not both")
    if policy is None:
        fields = {f.name for f in dataclasses.fields(CachePolicy)}
        for name in directives:
            if name not in fields:
                close = difflib.get_close_matches(name, sorted(fields), n=1, cutoff=0.7)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigurationError(f"edge_cache: unknown directive {name!r}{hint}")
        policy = CachePolicy(**directives)
    if not isinstance(policy, CachePolicy):
        raise ConfigurationError(f"edge_cache: expected a CachePolicy, got {policy!r}")
    if not policy.cache_control:
        raise ConfigurationError("edge_cache needs at least one directive, e.g. max_age=60")
    return policy


#: What ``@no_edge_cache`` sends: nothing keeps the response.
NO_EDGE_CACHE = CachePolicy(private=True, no_store=True)


def policy_from_setting(value: Any, name: str) -> CachePolicy | None:
    """The default policy configured under ``name``: None, a CachePolicy or a dict of its
    fields, validated (a bad one is a ConfigurationError naming the setting)."""
    if value is None or isinstance(value, CachePolicy):
        return value
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name} must be a CachePolicy or a dict of its fields")
    try:
        return build_policy(None, value)
    except ConfigurationError as error:
        raise ConfigurationError(f"{name}: {error}") from None
