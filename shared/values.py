"""The value types every boundary shares: region id, image id, rule name, bounded regex, and the located
``ValueError`` a validator raises to point below its field.

Why one module: the policy sections (copy, export, ACR, cleanup, builds), the manual requests and the
events validate the same kinds of values; one definition keeps them agreeing (issue #12), and it sits
below both ``shared.policy`` and ``shared.events`` so neither imports the other for it.

Examples
--------
>>> is_region("cn-hangzhou"), is_region("cn_hangzhou")
(True, False)
>>> check_rule_name("nightly-copies")
'nightly-copies'
"""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from shared.patterns import MAX_PATTERN_LENGTH
from shared.regions import region_problem

REGION_RE = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+\Z")
IMAGE_ID_RE = re.compile(r"^m-[a-z0-9]+\Z")
MAX_ID_LENGTH = 64
#: A rule's name: lowercase letters, digits and hyphens, 1-63 characters.
RULE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
#: Longest regex a policy or a request may carry (they compile with RE2: ``shared.patterns``).
MAX_REGEX_LENGTH = MAX_PATTERN_LENGTH


class At(ValueError):
    """A ValueError that points below the field it was raised for (``shared.policy.errors`` reads ``loc``)."""

    def __init__(self, message: str, *loc: str | int) -> None:
        super().__init__(message)
        self.loc = loc


def check_unique(values: list[str], what: str) -> list[str]:
    """``values`` unchanged when no value repeats; else ``At`` pointing at the first repeat's index."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise At(f"duplicate {what} {value!r}", i)
        seen.add(value)
    return values


def is_region(value: str) -> bool:
    """True for a well-formed region id such as ``cn-hangzhou`` or ``ap-southeast-1``."""
    return len(value) <= MAX_ID_LENGTH and REGION_RE.match(value) is not None


def is_image_id(value: str) -> bool:
    """True for a well-formed custom image id such as ``m-bp1abc``."""
    return len(value) <= MAX_ID_LENGTH and IMAGE_ID_RE.match(value) is not None


def check_region(value: str) -> str:
    """A well-formed region id that Alibaba Cloud has (a near miss names the closest one)."""
    if not is_region(value):
        raise ValueError(f"not a region id: {value[:80]!r}")
    problem = region_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def check_rule_name(value: str) -> str:
    """A rule name (``RULE_NAME_RE``)."""
    if not RULE_NAME_RE.match(value):
        raise ValueError("must match [a-z0-9][a-z0-9-]{0,62} (lowercase, digits, hyphens)")
    return value


RegionId = Annotated[str, AfterValidator(check_region)]
RuleName = Annotated[str, AfterValidator(check_rule_name)]
