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
