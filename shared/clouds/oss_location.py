"""Where a bucket lives (pre-flight only): GetBucketLocation through oss2.

Kept out of `OssGateway` on purpose: no function needs it, so the function role gets no
`oss:GetBucketLocation` (scripts/ram.py derives the role's actions from what the handlers reach).
"""
from __future__ import annotations

import oss2

from shared.clouds._errors import translate
from shared.clouds.oss import _auth, oss_endpoint
from shared.config import Credentials
from shared.errors import ResourceNotFoundError


def bucket_region(credentials: Credentials, bucket: str, *, near: str, endpoint: str | None = None) -> str | None:
    """The bucket's region (`oss-cn-hangzhou` → `cn-hangzhou`), None when it does not exist."""
    client = oss2.Bucket(_auth(credentials), oss_endpoint(near, endpoint), bucket, region=near, is_path_style=bool(endpoint),
                         connect_timeout=5)
    try:
        location = client.get_bucket_location().location
    except Exception as exc:  # oss2 raises its own types; translated once here
        error = translate(exc)
        if isinstance(error, ResourceNotFoundError) or getattr(exc, "code", "") == "NoSuchBucket":
            return None
        raise error from exc
    return str(location).removeprefix("oss-")
