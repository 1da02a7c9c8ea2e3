"""The hourly cost class of a pay-as-you-go instance type: a CLASS, never a price.

Why a class: prices differ by region, by generation and over time, and image-relay has no price list to
trust; what an operator needs from the cleanup report is "which leftover bills the most". The class is read
from the type's name alone, ``ecs.<family>.<size>``: the size gives the vCPU count as ECS names its sizes
(``small``/``medium`` 1, ``large`` 2, ``xlarge`` 4, ``<N>xlarge`` 4·N vCPUs, per the instance family
documentation's naming), and an accelerated family (GPU ``gn*``/``vgn*``/``sgn*``/``ebmgn*``, FPGA ``f*``)
is its own class. For figures, read the ECS pay-as-you-go price list of the region.

Examples
--------
>>> cost_class("ecs.g6.large"), cost_class("ecs.c7.4xlarge"), cost_class("ecs.gn6i-c4g1.xlarge")
('S (2 vCPU)', 'L (16 vCPU)', 'GPU/FPGA (4 vCPU)')
>>> cost_class("ecs.t5-lc2m1.nano"), cost_class("")
('S (<1 vCPU)', 'unknown')
"""
from __future__ import annotations

import re

_SIZE = re.compile(r"\A(?:(\d+)x)?large\Z")
_SMALL = {"nano": "<1", "micro": "<1", "small": "1", "medium": "1"}
_ACCELERATED = re.compile(r"\A(?:ebm|sccgn|v|s)?(?:gn|f)\d", re.IGNORECASE)


def vcpus(instance_type: str) -> int | None:
    """The vCPU count ECS's size name implies, or None when the name does not say.

    >>> vcpus("ecs.g7.2xlarge"), vcpus("ecs.g7.xlarge"), vcpus("ecs.g7.large"), vcpus("ecs.g7.medium")
    (8, 4, 2, 1)
    """
    size = instance_type.rsplit(".", 1)[-1].lower()
    if size == "xlarge":
        return 4
    match = _SIZE.match(size)
    if match:
        return 4 * int(match.group(1)) if match.group(1) else 2
    if size in _SMALL and _SMALL[size].isdigit():
        return int(_SMALL[size])
    return None


def cost_class(instance_type: str) -> str:
    """``S``/``M``/``L``/``XL`` by vCPUs (≤2, ≤8, ≤32, more), ``GPU/FPGA`` for accelerated families, else unknown."""
    parts = instance_type.split(".")
    if len(parts) != 3 or parts[0] != "ecs":
        return "unknown"
    size = parts[2].lower()
    if size in _SMALL and not _SMALL[size].isdigit():
        return f"S ({_SMALL[size]} vCPU)"
    count = vcpus(instance_type)
    if count is None:
        return "unknown"
    if _ACCELERATED.match(parts[1]):
        return f"GPU/FPGA ({count} vCPU)"
    label = "S" if count <= 2 else "M" if count <= 8 else "L" if count <= 32 else "XL"
    return f"{label} ({count} vCPU)"
