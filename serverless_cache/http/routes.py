"""Routes with an edge policy, as found in a Django URLconf or a Flask url_map.

Paths use API Gateway's template syntax (``/articles/{pk}``, ``{rest+}`` for a greedy tail),
the form the API Gateway stage settings and SAM events are generated in. CloudFront path
patterns (cache behaviors) are not generated: attach the generated cache policies yourself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from serverless_cache.http.policy import CachePolicy

_PARAMETER = re.compile(r"\{([^}+]+)\+?\}")
#: A Django route or Werkzeug rule parameter: ``<name>``, ``<int:pk>``, ``<any(a, b):kind>``.
_RULE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:(]+)(?:\([^>]*\))?:)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class EdgeRoute:
    """One cacheable route: its path template, the view's name and its policy."""

    path: str
    name: str
    policy: CachePolicy

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(_PARAMETER.findall(self.path))

    @property
    def slug(self) -> str:
        return slug(self.path)


def slug(path: str) -> str:
    """A CamelCase identifier for resource names: ``/articles/{pk}`` -> ``ArticlesPk``."""
    words = re.findall(r"[A-Za-z0-9]+", path)
    return "".join(word[:1].upper() + word[1:] for word in words) or "Root"


def api_path(*segments: str) -> str:
    """Join path segments into ``/a/b`` without a trailing slash (API Gateway's form)."""
    joined = "/".join(s.strip("/") for s in segments if s.strip("/"))
    return "/" + joined


def path_template(rule: str) -> str:
    """A Django route or Werkzeug rule in API Gateway's form: ``<int:pk>`` -> ``{pk}``, and
    the ``path`` converter (which matches slashes) -> the greedy ``{rest+}``."""

    def parameter(match: re.Match[str]) -> str:
        greedy = "+" if match["converter"] == "path" else ""
        return "{" + match["name"] + greedy + "}"

    return _RULE_PARAMETER.sub(parameter, rule)


def logical_ids(routes: Sequence[EdgeRoute]) -> list[str]:
    """One distinct template identifier per route: its slug, or the slug and a counter when
    slugs collide (``/a/b`` and ``/a-b`` are both ``AB``; the second becomes ``AB2``).

    A route whose slug is unique keeps it, so adding a route never renames another resource.
    """
    return unique_ids([route.slug for route in routes])


def unique_ids(slugs: Sequence[str]) -> list[str]:
    """``slugs`` made distinct, in order: a repeated one gets a counter (see logical_ids)."""
    taken = set(slugs)
    seen: set[str] = set()
    ids = []
    for wanted in slugs:
        candidate, counter = wanted, 1
        while candidate in seen or (candidate != wanted and candidate in taken):
            counter += 1
            candidate = f"{wanted}{counter}"
        seen.add(candidate)
        ids.append(candidate)
    return ids
