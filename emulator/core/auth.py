"""Request authentication: ACS3-HMAC-SHA256 (SDK default) and RPC v1 HMAC-SHA1 (``signature_algorithm='v2'``).

The two checkers are the verified ones of alibaba-api.md §7.7, typed and made total (a malformed header is
a mismatch, never a crash). STS tokens (``x-acs-security-token`` / ``SecurityToken``) are accepted without
checking: the emulator has no STS.

UNCONFIRMED: a request with neither scheme gets 400 ``MissingAuthorization``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlsplit

from emulator.core.errors import (
    InvalidAccessKeyIdError,
    MissingAuthorizationError,
    SignatureDoesNotMatchError,
)

ACS3 = "ACS3-HMAC-SHA256"


def verify_acs3(method: str, raw_target: str, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Return True when the ACS3-HMAC-SHA256 ``Authorization`` header matches ``secret`` (§7.7)."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        algo, rest = h["authorization"].split(" ", 1)
        parts = dict(p.split("=", 1) for p in rest.split(","))
        u = urlsplit(raw_target)
        pairs = sorted(parse_qsl(u.query, keep_blank_values=True))
        cq = "&".join(f"{k}={quote(v, safe='~')}" for k, v in pairs)
        ch = "".join(f"{k}:{h[k].strip()}\n" for k in parts["SignedHeaders"].split(";"))
        payload = hashlib.sha256(body).hexdigest()
        if payload != h.get("x-acs-content-sha256"):
            return False
        creq = f"{method}\n{u.path}\n{cq}\n{ch}\n{parts['SignedHeaders']}\n{payload}"
        sts = f"{algo}\n{hashlib.sha256(creq.encode()).hexdigest()}"
        expected = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["Signature"])
    except (KeyError, ValueError):
        return False


def verify_rpc_v1(method: str, raw_target: str, form_body: bytes, secret: str) -> bool:
    """Return True when the v1 ``Signature`` parameter (HMAC-SHA1 of the sorted query) matches (§7.7)."""
    try:
        p = dict(parse_qsl(urlsplit(raw_target).query, keep_blank_values=True))
        p.update(parse_qsl(form_body.decode(), keep_blank_values=True))
        sig = p.pop("Signature")
        cq = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(p.items()))
        sts = f"{method}&%2F&{quote(cq, safe='~')}"
        digest = hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), sig)
    except (KeyError, ValueError, UnicodeDecodeError):
        return False


def acs3_access_key_id(authorization: str) -> str:
    """Extract the AccessKey id from ``Credential=`` of an ACS3 ``Authorization`` header ('' if absent)."""
    _, _, rest = authorization.partition(" ")
    for part in rest.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "Credential":
            return value.strip()
    return ""


def authenticate(
    method: str,
    raw_target: str,
    headers: Mapping[str, str],
    body: bytes,
    params: Mapping[str, str],
    secrets: Mapping[str, str],
) -> str:
    """Verify the request signature against known AccessKey pairs; return the AccessKey id.

    Raises ``MissingAuthorization`` (unsigned), ``InvalidAccessKeyId.NotFound`` (unknown key) or
    ``SignatureDoesNotMatch`` (wrong secret or tampered request).
    """
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if authorization.startswith(ACS3 + " "):
        key_id = acs3_access_key_id(authorization)
        secret = _secret_for(key_id, secrets)
        if not verify_acs3(method, raw_target, headers, body, secret):
            raise SignatureDoesNotMatchError()
        return key_id
    if "Signature" in params:
        key_id = params.get("AccessKeyId", "")
        secret = _secret_for(key_id, secrets)
        if not verify_rpc_v1(method, raw_target, body, secret):
            raise SignatureDoesNotMatchError()
        return key_id
    raise MissingAuthorizationError()


def _secret_for(key_id: str, secrets: Mapping[str, str]) -> str:
    """Look up the secret of ``key_id`` or raise ``InvalidAccessKeyId.NotFound``."""
    if key_id not in secrets:
        raise InvalidAccessKeyIdError()
    return secrets[key_id]
