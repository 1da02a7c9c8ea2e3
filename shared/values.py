"""The value types every boundary shares: region id, image id, rule name, bounded regex, ACR instance id and
namespace/repository name, IANA time zone, aware datetime (each an ``Annotated`` type over one ``check_*``
function), and the located ``ValueError`` a validator raises to point below its field.

Why one module: the policy sections (copy, export, ACR, cleanup, builds), the manual requests and the
events validate the same kinds of values; one definition keeps them agreeing (issue #12), and it sits
below both ``shared.policy`` and ``shared.events`` so neither imports the other for it.

Examples
--------
>>> is_region("cn-hangzhou"), is_region("cn_hangzhou")
(True, False)
>>> check_rule_name("nightly-copies")
'nightly-copies'
>>> from pydantic import TypeAdapter
>>> TypeAdapter(BoundedRegex).validate_python("^app-")
'^app-'
>>> TypeAdapter(TimeZone).validate_python("Asia/Shanghai")
'Asia/Shanghai'
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, StringConstraints

from shared.patterns import MAX_PATTERN_LENGTH, check_pattern
from shared.regions import region_problem

REGION_RE = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+\Z")
IMAGE_ID_RE = re.compile(r"^m-[a-z0-9]+\Z")
MAX_ID_LENGTH = 64
#: A rule's name: lowercase letters, digits and hyphens, 1-63 characters.
RULE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
#: An ACR EE instance id, and a namespace or repository name: lowercase letters and digits, single runs of
#: separators (. _ -) between them, no '/' (ACR EE has exactly one namespace level).
ACR_INSTANCE_ID_RE = re.compile(r"^cri-[a-z0-9]+\Z")
ACR_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-]+[a-z0-9]+)*\Z")
MAX_ACR_NAME_LENGTH = 255  # a defensive cap before any regex, not a documented service limit
#: Longest regex a policy or a request may carry (they compile with RE2: ``shared.patterns``).
MAX_REGEX_LENGTH = MAX_PATTERN_LENGTH


class At(ValueError):
    """A ValueError that points below the field it was raised for (``shared.policy.errors`` reads ``loc``)."""

    def __init__(self, message: str, *loc: str | int) -> None:
        super().__init__(message)
        self.loc = loc


def check_unique(values: list[str], what: str, *below: str | int) -> list[str]:
    """``values`` unchanged when no value repeats; else ``At`` pointing at the first repeat's index (and
    ``below`` it: ``check_unique([r.name for r in rules], "rule name", "name")`` points at ``[i].name``)."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise At(f"duplicate {what} {value!r}", i, *below)
        seen.add(value)
    return values


def matching(pattern: re.Pattern[str], message: str, *, cut: int | None = None) -> AfterValidator:
    """An ``Annotated`` marker for a string of one form: ``ValueError(message.format(value=...))`` unless
    ``pattern`` matches (the value shown cut to ``cut`` characters, when given).

    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(Annotated[str, matching(re.compile(r"^[a-z]+\\Z"), "not lowercase: {value!r}")]).validate_python("ab")
    'ab'
    """
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(message.format(value=value[:cut]))
        return value

    return AfterValidator(check)


def unique(what: str) -> AfterValidator:
    """An ``Annotated`` marker for a list whose values must not repeat (``check_unique`` naming ``what``)."""
    return AfterValidator(lambda values: check_unique(values, what))


def check_kms_keys(value: dict[str, str]) -> dict[str, str]:
    """Per region, a KMS key id that is not blank (``At`` pointing at the region)."""
    for region, key_id in value.items():
        if not key_id.strip():
            raise At("KMS key id must not be empty", region)
    return value


def is_region(value: str) -> bool:
    """True for a well-formed region id such as ``cn-hangzhou`` or ``ap-southeast-1``."""
    return len(value) <= MAX_ID_LENGTH and REGION_RE.match(value) is not None


def is_image_id(value: str) -> bool:
    """True for a well-formed custom image id such as ``m-bp1abc``."""
    return len(value) <= MAX_ID_LENGTH and IMAGE_ID_RE.match(value) is not None


def is_acr_instance_id(value: str) -> bool:
    """True for an ACR EE instance id such as ``cri-hzsrc01``."""
    return len(value) <= MAX_ID_LENGTH and ACR_INSTANCE_ID_RE.match(value) is not None


def is_acr_name(value: str) -> bool:
    """True for a namespace or repository name such as ``web`` or ``front_end.v2``."""
    return len(value) <= MAX_ACR_NAME_LENGTH and ACR_NAME_RE.match(value) is not None


def check_acr_instance_id(value: str) -> str:
    """An ACR EE instance id (``ACR_INSTANCE_ID_RE``)."""
    if not is_acr_instance_id(value):
        raise ValueError(f"not an ACR instance id (cri-[a-z0-9]+): {value[:80]!r}")
    return value


def check_acr_name(value: str) -> str:
    """A namespace or repository name (``ACR_NAME_RE``)."""
    if not is_acr_name(value):
        raise ValueError(f"not a namespace/repository name (lowercase letters, digits, . _ -): {value[:80]!r}")
    return value


def check_region_form(value: str) -> str:
    """A well-formed region id, known to this version or not."""
    if not is_region(value):
        raise ValueError(f"not a region id: {value[:80]!r}")
    return value


def check_region(value: str) -> str:
    """A well-formed region id that Alibaba Cloud has (a near miss names the closest one)."""
    check_region_form(value)
    problem = region_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def check_rule_name(value: str) -> str:
    """A rule name (``RULE_NAME_RE``)."""
    if not RULE_NAME_RE.match(value):
        raise ValueError("must match [a-z0-9][a-z0-9-]{0,62} (lowercase, digits, hyphens)")
    return value


def check_image_id(value: str) -> str:
    """A well-formed custom image id (``IMAGE_ID_RE``)."""
    if not is_image_id(value):
        raise ValueError(f"not an image id (m-[a-z0-9]+): {value[:80]!r}")
    return value


@functools.lru_cache(maxsize=64)
def zone(key: str) -> ZoneInfo:
    """The ``ZoneInfo`` of an IANA key, cached (a window asks for its zone on every query)."""
    return ZoneInfo(key)


def check_time_zone(value: str) -> str:
    """An IANA time zone name this machine's zone database has (``Asia/Shanghai``, ``UTC``)."""
    try:
        zone(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. Asia/Shanghai, UTC)") from None
    return value


def check_aware(value: dt.datetime) -> dt.datetime:
    """A datetime that carries its time zone (a naive one would be read in whatever zone the machine has)."""
    if value.tzinfo is None:
        raise ValueError("must carry a timezone, e.g. 2026-11-21T18:00:00Z")
    return value


#: A region id Alibaba Cloud has (policies: a typo would silently copy nothing).
RegionId = Annotated[str, AfterValidator(check_region)]
#: A well-formed region id, not looked up (requests and events may name a region this version does not know).
WellFormedRegionId = Annotated[str, AfterValidator(check_region_form)]
ImageId = Annotated[str, AfterValidator(check_image_id)]
#: Per region, a KMS key id (the region is checked by the section: a target region, a source region).
KmsKeys = Annotated[dict[str, str], AfterValidator(check_kms_keys)]
RuleName = Annotated[str, AfterValidator(check_rule_name)]
AcrInstanceId = Annotated[str, AfterValidator(check_acr_instance_id)]
AcrName = Annotated[str, AfterValidator(check_acr_name)]
#: A regular expression of at most ``MAX_REGEX_LENGTH`` characters that RE2 compiles (bounded matching time).
BoundedRegex = Annotated[str, StringConstraints(max_length=MAX_REGEX_LENGTH), AfterValidator(check_pattern)]
TimeZone = Annotated[str, AfterValidator(check_time_zone)]
#: A caller's clock (``now``): a datetime with its time zone.
AwareDatetime = Annotated[dt.datetime, AfterValidator(check_aware)]
