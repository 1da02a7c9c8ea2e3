"""OSS request authentication: signature v1 (``OSS ak:sig``, also ``StsAuth``) and v4 (``OSS4-HMAC-SHA256``).

Both checkers are the verified ones of alibaba-api.md §7.7 (``emulator.core.auth``); the AccessKey store is
the one ECS uses (``State.access_keys``). STS tokens (``x-oss-security-token``) are accepted without checking.
Targets reach the checkers in path style (``/<bucket>/<key>``): ``emulator.oss.urls`` rewrites a
virtual-hosted-style request first, since both signatures sign ``/<bucket>/<key>`` in either style.
"""

from __future__ import annotations

from collections.abc import Mapping

from emulator.core.auth import oss_v4_parts, verify_oss_v1, verify_oss_v4
from emulator.oss import exceptions as exc

V1 = "OSS "
V4 = "OSS4-HMAC-SHA256"


def is_oss_authorization(authorization: str) -> bool:
    """Return True for an OSS v1 or v4 ``Authorization`` header."""
    return authorization.startswith((V1, V4 + " "))


def authenticate_oss(method: str, raw_target: str, headers: Mapping[str, str], secrets: Mapping[str, str]) -> str:
    """Verify an OSS signature; return the AccessKey id or raise the OSS 403 errors."""
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if authorization.startswith(V4 + " "):
        key_id = oss_v4_parts(authorization).get("Credential", "").split("/", 1)[0]
        verify = verify_oss_v4
    elif authorization.startswith(V1):
        key_id = authorization[len(V1) :].rsplit(":", 1)[0].strip()
        verify = verify_oss_v1
    else:
        raise exc.AccessDeniedError(message="Anonymous access is forbidden for this operation.")
    secret = secrets.get(key_id)
    if secret is None:
        raise exc.InvalidAccessKeyIdError()
    if not verify(method, raw_target, headers, secret):
        raise exc.SignatureDoesNotMatchError()
    return key_id
