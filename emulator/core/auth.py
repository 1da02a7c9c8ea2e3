"""Request authentication: ACS3-HMAC-SHA256 (SDK default) and RPC v1 HMAC-SHA1 (``signature_algorithm='v2'``).

The checkers are the verified ones of alibaba-api.md §7.7, typed and made total (a malformed header is
a mismatch, never a crash). The OSS checkers (``verify_oss_v1`` for ``oss2.Auth``/``StsAuth``,
``verify_oss_v4`` for ``oss2.AuthV4``) live here too; ``emulator.oss.auth`` maps their failures to OSS errors. Security
tokens (``x-acs-security-token`` / ``SecurityToken``) are checked after the signature, by
``emulator.core.accounts``: an STS session's token must match and be unexpired; a token sent with a static pair is
accepted without checking.

A signature mismatch answers ``SignatureDoesNotMatch`` with the server's string-to-sign at the end of the
message, ``Specified signature is not matched with our calculation. server string to sign is:<sts>``, as the
service does: the legacy ``aliyun-python-sdk-core`` (``client._get_server_exception``) splits it out with
``message.split(':')[1]`` and, when it equals its own, reports ``InvalidAccessKeySecret``; ``@alicloud/pop-core``
and the Go SDK read the same marker.

UNCONFIRMED: a request with neither scheme gets 400 ``MissingAuthorization``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from emulator.core.errors import (
    InvalidAccessKeyIdError,
    MissingAuthorizationError,
    SignatureDoesNotMatchError,
)

ACS3 = "ACS3-HMAC-SHA256"


def acs3_string_to_sign(method: str, raw_target: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """Return the ACS3 string-to-sign the server computes for this request (None when the header is malformed)."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        algo, rest = h["authorization"].split(" ", 1)
        parts = dict(p.split("=", 1) for p in rest.split(","))
        u = urlsplit(raw_target)
        pairs = sorted(parse_qsl(u.query, keep_blank_values=True))
        cq = "&".join(f"{k}={quote(v, safe='~')}" for k, v in pairs)
        ch = "".join(f"{k}:{h[k].strip()}\n" for k in parts["SignedHeaders"].split(";"))
        payload = hashlib.sha256(body).hexdigest()
        creq = f"{method}\n{u.path}\n{cq}\n{ch}\n{parts['SignedHeaders']}\n{payload}"
        return f"{algo}\n{hashlib.sha256(creq.encode()).hexdigest()}"
    except (KeyError, ValueError):
        return None


def verify_acs3(method: str, raw_target: str, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Return True when the ACS3-HMAC-SHA256 ``Authorization`` header matches ``secret`` (§7.7)."""
    h = {k.lower(): v for k, v in headers.items()}
    sts = acs3_string_to_sign(method, raw_target, headers, body)
    if sts is None or hashlib.sha256(body).hexdigest() != h.get("x-acs-content-sha256"):
        return False
    try:
        parts = dict(p.split("=", 1) for p in h["authorization"].split(" ", 1)[1].split(","))
        expected = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["Signature"])
    except (KeyError, ValueError, IndexError):
        return False


def rpc_v1_string_to_sign(method: str, raw_target: str, form_body: bytes) -> str | None:
    """Return the v1 string-to-sign ``METHOD&%2F&<quoted sorted query>`` (None when it cannot be built).

    Parameters are the query merged with a form body; ``Signature`` is left out. GET and POST are both RPC
    methods (the legacy SDK and ``@alicloud/pop-core`` send GET by default).
    """
    try:
        p = dict(parse_qsl(urlsplit(raw_target).query, keep_blank_values=True))
        p.update(parse_qsl(form_body.decode(), keep_blank_values=True))
        p.pop("Signature", None)
        cq = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(p.items()))
        return f"{method}&%2F&{quote(cq, safe='~')}"
    except (ValueError, UnicodeDecodeError):
        return None


def verify_rpc_v1(method: str, raw_target: str, form_body: bytes, secret: str) -> bool:
    """Return True when the v1 ``Signature`` parameter (HMAC-SHA1 of the sorted query) matches (§7.7)."""
    try:
        p = dict(parse_qsl(urlsplit(raw_target).query, keep_blank_values=True))
        p.update(parse_qsl(form_body.decode(), keep_blank_values=True))
        sig = p["Signature"]
    except (KeyError, ValueError, UnicodeDecodeError):
        return False
    sts = rpc_v1_string_to_sign(method, raw_target, form_body)
    if sts is None:
        return False
    digest = hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), sig)


# oss2.auth.ProviderAuth._subresource_key_set (2.19.1): only these query keys are signed by the v1 signer.
OSS_SUBRESOURCES: frozenset[str] = frozenset(
    """response-content-type response-content-language response-cache-control logging response-content-encoding
    acl uploadId uploads partNumber group link delete website location objectInfo objectMeta response-expires
    response-content-disposition cors lifecycle restore qos referer stat bucketInfo append position
    security-token live comp status vod startTime endTime x-oss-process symlink callback callback-var tagging
    encryption versions versioning versionId policy requestPayment x-oss-traffic-limit qosInfo asyncFetch
    x-oss-request-payer sequential inventory inventoryId continuation-token worm wormId wormExtend
    replication replicationLocation replicationProgress transferAcceleration cname metaQuery""".split()
)


def verify_oss_v1(method: str, raw_target: str, headers: Mapping[str, str], secret: str) -> bool:
    """Return True when an ``OSS <ak>:<signature>`` header (oss2 ``Auth``/``StsAuth``) matches (§7.7)."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        u = urlsplit(raw_target)
        res = unquote(u.path)
        sub = sorted((k, v) for k, v in parse_qsl(u.query, keep_blank_values=True) if k in OSS_SUBRESOURCES)
        if sub:
            res += "?" + "&".join(f"{k}={v}" if v else k for k, v in sub)
        xo = "".join(f"{k}:{v}\n" for k, v in sorted((k, v) for k, v in h.items() if k.startswith("x-oss-")))
        date = h.get("x-oss-date") or h.get("date", "")
        sts = "\n".join([method, h.get("content-md5", ""), h.get("content-type", ""), date, xo + res])
        digest = hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), h["authorization"].split(":", 1)[1])
    except (KeyError, IndexError, ValueError):
        return False


def _v4(s: str, keep_slash: bool) -> str:
    """URI-encode as the OSS v4 signer does (unreserved kept, ``/`` kept in the path)."""
    return "".join(
        c
        if (c.isascii() and (c.isalnum() or c in "_-~.")) or (keep_slash and c == "/")
        else "".join(f"%{b:02X}" for b in c.encode())
        for c in s
    )


def oss_v4_parts(authorization: str) -> dict[str, str]:
    """Split ``OSS4-HMAC-SHA256 Credential=…, Signature=…[, AdditionalHeaders=…]`` into its fields."""
    rest = authorization[len("OSS4-HMAC-SHA256 ") :]
    return dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)


def verify_oss_v4(method: str, raw_target: str, headers: Mapping[str, str], secret: str) -> bool:
    """Return True when an ``OSS4-HMAC-SHA256`` header (oss2 ``AuthV4`` with ``region=``) matches (§7.7)."""
    h = {k.lower(): v for k, v in headers.items()}
    try:
        parts = oss_v4_parts(h["authorization"])
        _ak, date, region, product, _ = parts["Credential"].split("/")
        addl = parts.get("AdditionalHeaders", "")
        addl_set = set(filter(None, addl.split(";")))
        u = urlsplit(raw_target)
        pairs = sorted((_v4(k, False), _v4(v, False)) for k, v in parse_qsl(u.query, keep_blank_values=True))
        cq = "&".join(f"{k}={v}" if v else k for k, v in pairs)
        ch = "".join(
            f"{k}:{v}\n"
            for k, v in sorted(h.items())
            if k.startswith("x-oss-") or k in ("content-type", "content-md5") or k in addl_set
        )
        payload = h.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
        creq = f"{method}\n{_v4(unquote(u.path), True)}\n{cq}\n{ch}\n{addl}\n{payload}"
        scope = f"{date}/{region}/{product}/aliyun_v4_request"
        sts = f"OSS4-HMAC-SHA256\n{h['x-oss-date']}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
        key = hmac.new(("aliyun_v4" + secret).encode(), date.encode(), hashlib.sha256).digest()
        for part in (region, product, "aliyun_v4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["Signature"])
    except (KeyError, ValueError):
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
            raise SignatureDoesNotMatchError(acs3_string_to_sign(method, raw_target, headers, body))
        return key_id
    if "Signature" in params:
        key_id = params.get("AccessKeyId", "")
        secret = _secret_for(key_id, secrets)
        if not verify_rpc_v1(method, raw_target, body, secret):
            raise SignatureDoesNotMatchError(rpc_v1_string_to_sign(method, raw_target, body))
        return key_id
    raise MissingAuthorizationError()


def _secret_for(key_id: str, secrets: Mapping[str, str]) -> str:
    """Look up the secret of ``key_id`` or raise ``InvalidAccessKeyId.NotFound``."""
    if key_id not in secrets:
        raise InvalidAccessKeyIdError()
    return secrets[key_id]
