"""Which source images a copy or export rule takes (``match:``): a name regex and tags, every given one must hold.

Shared by ``copies`` and ``exports`` (both sections select ECS images the same way).

>>> ImageMatch(name_regex="^app-", tags={"team": "web"}).matches("app-1", {"team": "web", "env": "prod"})
True
"""
from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from shared.patterns import bounded
from shared.values import BoundedRegex

__all__ = ["ImageMatch"]


class ImageMatch(BaseModel):
    """Which source images a rule takes; every given condition must hold."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    name_regex: BoundedRegex | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    def matches(self, name: str, tags: Mapping[str, str]) -> bool:
        """True when the name matches ``name_regex`` (search, RE2: bounded time) and every tag is equal."""
        if self.name_regex is not None and not bounded(self.name_regex).search(name):
            return False
        return all(tags.get(key) == value for key, value in self.tags.items())
