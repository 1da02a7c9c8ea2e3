"""The demo's own additions to the sample world (scripts/sample_world.py): what only `make demo` seeds.

The demo's export phase archives a batch larger than the sample world's two app- images, one of which ECS
cannot export. It lives here, not in the sample world, so the demo can change its story without moving a test
(the tests build on scripts/sample_world.py alone).
"""
from __future__ import annotations

from typing import Any

from scripts.sample_world import SOURCE


def export_images() -> list[dict[str, Any]]:
    """Images for the export batch: five to archive, one Windows image ECS cannot export."""
    images: list[dict[str, Any]] = [
        {"region": SOURCE, "image_id": f"m-bp1arch{i:07d}", "name": f"app-release-{i}", "size_gib": 40 + 20 * i}
        for i in range(1, 6)
    ]
    images.append({"region": SOURCE, "image_id": "m-bp1archwin0001", "name": "app-win-2022", "size_gib": 60,
                   "os_type": "windows", "platform": "Windows Server 2022"})
    return images
