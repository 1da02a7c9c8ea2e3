"""Helpers shared by the emulator contract tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException


def image(image_id: str, region: str = "cn-hangzhou", **fields: Any) -> dict[str, Any]:
    """A seed entry for one image."""
    return {"region": region, "image_id": image_id, **fields}


@contextmanager
def raises_code(code: str, status: int) -> Iterator[None]:
    """Assert the SDK raised an Alibaba error with exactly this ``code`` and HTTP status."""
    with pytest.raises(AlibabaCloudException) as info:
        yield
    assert (info.value.code, info.value.status_code) == (code, status), info.value.message


def call_error(fn: Callable[[], object]) -> AlibabaCloudException:
    """Run ``fn`` and return the SDK exception it raised."""
    with pytest.raises(AlibabaCloudException) as info:
        fn()
    return info.value


# A CR world: an Advanced source in hangzhou, a Basic target in shanghai (namespace "ns" only), an Advanced
# instance in a finance region; repo ns/app (crr-app) with tags v1 (older) and v2 on the source.
CR_SRC, CR_DST, CR_FIN = "cri-src", "cri-dst", "cri-fin"
CR_SEED: dict[str, Any] = {
    "regions": ["cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shanghai-finance-1"],
    "acr_instances": [
        {"region": "cn-hangzhou", "instance_id": CR_SRC, "name": "acr-hz"},
        {"region": "cn-shanghai", "instance_id": CR_DST, "name": "acr-sh", "specification": "Enterprise_Basic"},
        {"region": "cn-shanghai-finance-1", "instance_id": CR_FIN, "name": "acr-fin"},
    ],
    "acr_namespaces": [{"instance_id": CR_DST, "name": "ns"}, {"instance_id": CR_FIN, "name": "ns"}],
    "acr_repos": [{"instance_id": CR_SRC, "namespace": "ns", "name": "app", "repo_id": "crr-app"}],
    "acr_tags": [
        {"instance_id": CR_SRC, "namespace": "ns", "repo": "app", "tag": "v1", "digest": "sha256:" + "1" * 64,
         "size_bytes": 1000, "pushed_at": "2026-01-01T00:00:00Z"},
        {"instance_id": CR_SRC, "namespace": "ns", "repo": "app", "tag": "v2", "digest": "sha256:" + "2" * 64,
         "size_bytes": 2000, "pushed_at": "2026-01-02T00:00:00Z"},
    ],
}
