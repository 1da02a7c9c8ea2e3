"""OSS routing: which requests are OSS, which operation they are, and the service plug-in.

A request is OSS when its ``Authorization`` starts with ``OSS `` or ``OSS4-HMAC-SHA256``, or when it is not
an RPC call (``emulator.core.dispatch.is_rpc``). Two addressing styles (OSS "Access OSS over virtual-hosted
and path-style URLs"):

* path style (``/<bucket>/<key>``, the key's ``/`` sent as ``%2F`` by oss2): the whole path is unquoted, the
  bucket is the first segment and the key the rest; what IP and ``localhost`` endpoints get;
* virtual-hosted style: the bucket is the first label of the ``Host`` header (or of an absolute-form
  target's authority in forward-proxy mode) when the rest is an OSS host (``oss[-<region>][-internal]
  .aliyuncs.com``, ``oss-accelerate.aliyuncs.com``), ``localhost``, an IPv4 address or a wildcard-DNS name of
  one (``my-bucket.oss-cn-hangzhou.aliyuncs.com``, ``my-bucket.localhost:8000``, ``my-bucket.127.0.0.1:8000``,
  ``my-bucket.127.0.0.1.nip.io:8000``);
  the path is the key. Such a request is rewritten to path style before the signature check, because both
  OSS signatures sign ``/<bucket>/<key>`` whatever the style.

Absolute-form targets (forward-proxy mode) are reduced to their path.

Every answer carries ``x-oss-request-id``; the request log gets ``service "oss"``, ``region`` = the bucket's
region (None for an unknown bucket), the operation name and ``params {bucket, key}`` (plus the listing
parameters).

UNCONFIRMED choices:

* faults: an injected throttle answers 503 ``ServiceUnavailable`` (OSS has no ``Throttling.User``), an
  injected error 503 ``ServiceUnavailable`` or 500 ``InternalError``, a lost response 503 after the effect;
  ``actions`` names OSS operations (``PutObject``, ``GetObject``, ``HeadObject``, ``GetObjectMeta``,
  ``DeleteObject``, ``ListObjects``, ``ListObjectsV2``);
* ``HEAD …?objectMeta`` (oss2 ``get_object_meta``/``object_exists``) is logged as ``GetObjectMeta``;
* ``HostId`` in error bodies is the request's ``Host`` header;
* the signature is checked before the bucket is looked up (a bad signature on a missing bucket is 403).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from pydantic import BaseModel

from emulator.core.dispatch import is_rpc
from emulator.core.errors import EmulatorError, InternalServerError, InvalidActionError, ThrottlingUserError
from emulator.oss import exceptions as exc
from emulator.oss import multipart
from emulator.oss.auth import authenticate_oss, is_oss_authorization
from emulator.oss.models import OssBackend
from emulator.oss.responses import OssRequest, OssResponses, error_response
from emulator.oss.seed import OssSeed

if TYPE_CHECKING:
    from emulator.core.dispatch import HttpRequest, HttpResponse
    from emulator.core.params import Params
    from emulator.core.state import State

Handler = Callable[[OssResponses, OssRequest], "HttpResponse"]

def _on_backend(fn: Callable[[OssBackend, OssRequest], HttpResponse]) -> Handler:
    """Adapt a backend-level handler (``emulator.oss.multipart``) to the ``Handler`` shape."""
    return lambda responses, req: fn(responses.backend, req)


ACTIONS: dict[str, Handler] = {
    "PutObject": OssResponses.put_object,
    "GetObject": OssResponses.get_object,
    "HeadObject": OssResponses.head_object,
    "GetObjectMeta": OssResponses.head_object,
    "DeleteObject": OssResponses.delete_object,
    "ListObjects": OssResponses.list_objects,
    "ListObjectsV2": OssResponses.list_objects_v2,
    **{name: _on_backend(fn) for name, fn in multipart.HANDLERS.items()},
    "GetBucketLocation": OssResponses.get_bucket_location,
}

# Query keys that make a request another operation (sub-resources the emulator does not implement).
_PLAIN_OK = frozenset({"objectMeta"})


_OSS_HOST = re.compile(r"^oss(?:-[a-z0-9-]+)?\.aliyuncs\.com$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_WILDCARD_DNS = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}\.(?:nip\.io|sslip\.io)$")


def virtual_host_bucket(request: HttpRequest) -> str | None:
    """The bucket named by a virtual-hosted-style ``Host`` (None for path style)."""
    host = next((v for k, v in request.headers.items() if k.lower() == "host"), "")
    if not host and "://" in request.target:
        host = urlsplit(request.target).netloc
    name = host.strip().lower().rsplit(":", 1)[0] if not host.strip().startswith("[") else ""
    bucket, dot, rest = name.partition(".")
    if not dot or not bucket or _IPV4.match(name):
        return None
    if rest == "localhost" or _IPV4.match(rest) or _OSS_HOST.match(rest) or _WILDCARD_DNS.match(rest):
        return bucket
    return None


def path_style_target(request: HttpRequest) -> str:
    """The request target in path style (``/<bucket>/<key>?query``), whatever style the client used."""
    u = urlsplit(request.target)
    bucket = virtual_host_bucket(request)
    path = u.path or "/"
    if bucket is not None:
        path = "/" + quote(bucket, safe="") + (path if path.startswith("/") else "/" + path)
    return path + (f"?{u.query}" if u.query else "")


def parse_request(request: HttpRequest) -> OssRequest:
    """Split a path-style target into bucket, key and query; lower-case the header names."""
    u = urlsplit(request.target)
    path = unquote(u.path).lstrip("/")
    bucket, _, key = path.partition("/")
    query = dict(parse_qsl(u.query, keep_blank_values=True))
    headers = {k.lower(): v for k, v in request.headers.items()}
    return OssRequest(request.method, bucket, key, query, headers, request.body)


def operation(req: OssRequest) -> str:
    """Name the OSS operation of ``req`` (``Unsupported:<METHOD>`` when not emulated)."""
    if (name := multipart.operation(req)) is not None:
        return name
    sub = {k for k in req.query if k not in _LIST_PARAMS} - _PLAIN_OK
    if req.bucket and req.key and not sub:
        if req.method == "HEAD":
            return "GetObjectMeta" if "objectMeta" in req.query else "HeadObject"
        names = {"PUT": "PutObject", "GET": "GetObject", "DELETE": "DeleteObject"}
        if req.method in names and "objectMeta" not in req.query:
            return names[req.method]
    if req.bucket and not req.key and req.method == "GET" and sub == {"location"}:
        return "GetBucketLocation"
    if req.bucket and not req.key and req.method == "GET" and not sub:
        return "ListObjectsV2" if req.query.get("list-type") == "2" else "ListObjects"
    return f"Unsupported:{req.method}"


_LIST_PARAMS = frozenset(
    {
        "list-type", "prefix", "delimiter", "marker", "max-keys", "encoding-type", "continuation-token",
        "start-after", "fetch-owner", "security-token",
    }
)


class OssService:
    """The OSS plug-in: claims OSS requests and answers them with XML (an ``HttpService``)."""

    name = "oss"
    version = "oss"
    host_id = "oss.aliyuncs.com"
    seed_model: type[BaseModel] = OssSeed

    def __init__(self, state: State) -> None:
        self.state = state
        self.backend = OssBackend(state)
        self.responses = OssResponses(self.backend)

    # --- Service protocol (control plane) --------------------------------------------------------------

    def reset(self) -> None:
        """Drop every bucket and object."""
        self.backend.reset()

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        """Check the OSS seed keys against the enabled regions and known buckets."""
        self.backend.validate_seed(_oss_part(seed), regions)

    def apply_seed(self, seed: BaseModel) -> None:
        """Add seeded buckets and objects."""
        self.backend.apply_seed(_oss_part(seed))

    def settle(self, now: float) -> None:
        """OSS has no timed events."""

    def call(self, action: str, params: Params) -> dict[str, Any]:
        """OSS is not an RPC service."""
        raise InvalidActionError()

    # --- HttpService protocol --------------------------------------------------------------------------

    def matches(self, request: HttpRequest) -> bool:
        """OSS-signed requests, and anything that is not an RPC call (GET/POST ``/`` naming an action)."""
        authorization = next((v for k, v in request.headers.items() if k.lower() == "authorization"), "")
        if is_oss_authorization(authorization):
            return True
        return not is_rpc(request)

    def handle(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, dict[str, Any]]:
        """Authenticate, inject faults, run the operation; errors become XML."""
        request = replace(request, target=path_style_target(request))
        req = parse_request(request)
        action = operation(req)
        entry: dict[str, Any] = {
            "region": self.backend.bucket_region(req.bucket),
            "action": action,
            "code": None,
            "params": {"bucket": req.bucket, "key": req.key, **{k: v for k, v in req.query.items() if v}},
        }
        try:
            response = self._run(request, req, action)
        except exc.OssError as error:
            entry["code"] = error.code
            host = req.headers.get("host", self.host_id)
            response = error_response(error, request_id, host, head=req.method == "HEAD")
        response.headers["x-oss-request-id"] = request_id
        response.headers.setdefault("Server", "AliyunOSS")
        return response, entry

    def _run(self, request: HttpRequest, req: OssRequest, action: str) -> HttpResponse:
        """The steps after parsing; raises ``OssError``."""
        authenticate_oss(request.method, request.target, request.headers, self.state.access_keys)
        handler = ACTIONS.get(action)
        if handler is None:
            raise exc.NotImplementedOssError()
        fault = self.state.faults.before_action(action)
        if fault is not None:
            raise _as_oss(fault)
        try:
            response = handler(self.responses, req)
        except exc.OssError:
            raise
        except Exception as error:  # a bug must still answer XML, not kill the connection
            raise exc.InternalOssError(message=f"emulator bug: {error!r}") from error
        if self.state.faults.lose_response(action):
            raise exc.ServiceUnavailableOssError()
        return response


def _as_oss(fault: EmulatorError) -> exc.OssError:
    """Translate an injected core fault into the OSS error answered instead."""
    if isinstance(fault, InternalServerError):
        return exc.InternalOssError()
    if isinstance(fault, ThrottlingUserError):
        return exc.ServiceUnavailableOssError()
    return exc.ServiceUnavailableOssError(message="The service is temporarily unavailable.")


def _oss_part(seed: BaseModel) -> OssSeed:
    """Extract the OSS keys of the composed seed model."""
    return OssSeed.model_validate(seed.model_dump(include=set(OssSeed.model_fields)))
