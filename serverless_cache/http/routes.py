"""Routes with an edge policy, as found in a Django URLconf or a Flask url_map.

Paths use API Gateway's template syntax (``/articles/{pk}``, ``{rest+}`` for a greedy tail),
which CloudFront path patterns and SAM events are derived from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from serverless_cache.http.policy import CachePolicy

_PARAMETER = re.compile(r"\{([^}+]+)\+?\}")


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
        """A CamelCase identifier for resource names: ``/articles/{pk}`` -> ``ArticlesPk``."""
        words = re.findall(r"[A-Za-z0-9]+", self.path)
        return "".join(word[:1].upper() + word[1:] for word in words) or "Root"


def api_path(*segments: str) -> str:
    """Join path segments into ``/a/b`` without a trailing slash (API Gateway's form)."""
    joined = "/".join(s.strip("/") for s in segments if s.strip("/"))
    return "/" + joined
