"""The Alibaba Cloud region ids image-relay knows, and a "did you mean" for a typo.

Why a list in the code: a well-formed but wrong id (`cn-beijng`) passes a pattern check and then
copies nothing, silently. The list is the public regions of the ECS region table plus the finance
and government regions (their ids contain `-finance-` / `-gov-`); `image-relay doctor` checks the
account's own DescribeRegions answer as well. A region that opens later is added here (one line).
"""
from __future__ import annotations

import difflib

from shared.errors import ConfigError

PUBLIC_REGIONS: frozenset[str] = frozenset({
    "cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu", "cn-hangzhou",
    "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-shenzhen", "cn-heyuan", "cn-guangzhou", "cn-chengdu",
    "cn-wuhan-lr", "cn-hongkong",
    "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ap-south-1",
    "us-east-1", "us-west-1", "na-south-1", "eu-west-1", "eu-central-1", "me-east-1", "me-central-1",
})
RESTRICTED_REGIONS: frozenset[str] = frozenset({
    "cn-hangzhou-finance", "cn-shanghai-finance-1", "cn-shenzhen-finance-1", "cn-beijing-finance-1",
    "cn-north-2-gov-1",
})
KNOWN_REGIONS: frozenset[str] = PUBLIC_REGIONS | RESTRICTED_REGIONS


def suggest(value: str) -> str | None:
    """The closest known region id, if one is close enough to be a typo.

    >>> suggest("cn-beijng"), suggest("mars-1")
    ('cn-beijing', None)
    """
    close = difflib.get_close_matches(value.strip().lower(), sorted(KNOWN_REGIONS), n=1, cutoff=0.75)
    return close[0] if close else None


def region_problem(value: str) -> str | None:
    """Why ``value`` is not a known region id (with a suggestion), or None when it is one."""
    if value in KNOWN_REGIONS:
        return None
    hint = suggest(value)
    return f"unknown region {value!r}" + (f"; did you mean {hint}?" if hint else
                                          " (not an Alibaba Cloud region id this version knows)")


def check_region(value: str, field: str) -> str:
    """``value`` if it is a known region id, else a ``ConfigError`` naming ``field``."""
    problem = region_problem(value)
    if problem:
        raise ConfigError(problem, field=field)
    return value
