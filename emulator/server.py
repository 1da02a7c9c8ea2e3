"""The threaded HTTP server, the registry of emulated services and the public ``Emulator`` class (moto's
``ThreadedMotoServer``). Outside ``emulator.core`` because it imports every service; core stays service-agnostic.

``/_emulator/*`` goes to the control plane; every other request is an API call for the dispatcher.
Parameters are the query string merged with an ``application/x-www-form-urlencoded`` body (§7.2).
Absolute-form targets (the emulator used as an HTTP forward proxy, §7.6: ``POST http://cr.cn-hangzhou.aliyuncs.com/?…``)
are accepted everywhere: the control prefix is matched on ``urlsplit(target).path`` and the dispatcher and
signature checkers read only the path and query of the target.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from emulator.acr.urls import AcrService
from emulator.client import EmulatorControl
from emulator.core.control import PREFIX, Control
from emulator.core.dispatch import Dispatcher, HttpRequest, HttpResponse
from emulator.core.state import State
from emulator.ecs.urls import EcsService
from emulator.ess.urls import ess_services
from emulator.eventbridge.urls import EventBridgeService
from emulator.fc.api2016 import Fc2016Service
from emulator.fc.urls import FcService
from emulator.kms.urls import KmsService
from emulator.oss.urls import OssService
from emulator.ram.urls import RamService
from emulator.sts.urls import StsService

if TYPE_CHECKING:
    from emulator.core.dispatch import Service


def default_services(state: State) -> list[Service]:
    """The registry of emulated services.

    OSS is an HTTP service (it claims every request that is not an RPC call), so the ROA service FC
    (``/2021-04-06/…``, and its 2016-08-15 API over the same functions) is listed before it. ECS writes exported
    images through the OSS backend. CR is RPC (``2018-12-01``); so is ESS (``2022-02-22`` and the legacy
    ``2014-08-28``, one backend).
    """
    oss = OssService(state)
    ecs, fc = EcsService(state, oss.backend), FcService(state, oss.backend)
    return [ecs, AcrService(state), *ess_services(state), EventBridgeService(state), KmsService(state, ecs.backend),
            RamService(state), StsService(state), fc, Fc2016Service(fc), oss]


class _Handler(BaseHTTPRequestHandler):
    """Reads one request and hands it to the emulator; keeps connections alive (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"
    # One write per response and no Nagle: headers and body in separate segments cost ~40 ms per call
    # through delayed ACKs on keep-alive connections.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    emulator: Emulator

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Stay quiet: tests read the request log instead."""

    def _serve(self) -> None:
        """Answer any method."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path if "://" in self.path.split("?", 1)[0] else self.path
        if path.startswith(PREFIX):
            response = self.emulator.controller.handle(self.command, path, body)
        else:
            response = self.emulator.dispatcher.handle(self._api_request(body))
        self._send(response)

    def _api_request(self, body: bytes) -> HttpRequest:
        """Build the dispatcher's view of the request."""
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        content_type = (self.headers.get("Content-Type") or "").lower()
        if body and content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return HttpRequest(self.command, self.path, dict(self.headers.items()), body, params)

    def _send(self, response: HttpResponse) -> None:
        """Write the response with its content type and one Content-Length."""
        payload = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        length = next((v for k, v in response.headers.items() if k.lower() == "content-length"), None)
        self.send_header("Content-Length", length if length is not None else str(len(payload)))
        for key, value in response.headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve


class Emulator:
    """A local Alibaba Cloud emulator on ``host:port`` (port 0 picks a free port).

    Examples
    --------
    >>> with Emulator(port=0) as emu:                         # doctest: +SKIP
    ...     emu.control.seed({"images": [{"region": "cn-hangzhou", "image_id": "m-1"}]})
    ...     Config(endpoint=emu.endpoint, protocol="http", ...)
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", speed: float = 0.0) -> None:
        self.host = host
        self._requested_port = port
        self.state = State(speed=speed)
        self.services = default_services(self.state)
        self.dispatcher = Dispatcher(self.state, self.services)
        self.controller = Control(self.state, self.services)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _bind(self) -> ThreadingHTTPServer:
        """Create the listening server (binds the port now, so ``port`` is known)."""
        handler = type("EmulatorHandler", (_Handler,), {"emulator": self})
        server = ThreadingHTTPServer((self.host, self._requested_port), handler)
        server.daemon_threads = True
        self._server = server
        return server

    def start(self) -> Emulator:
        """Serve in a background thread; returns once the socket accepts connections."""
        server = self._bind()
        ready = threading.Event()

        def run() -> None:
            ready.set()
            server.serve_forever(poll_interval=0.1)

        self._thread = threading.Thread(target=run, name="emulator", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (``python -m emulator``) until ``stop()`` or an interrupt."""
        server = self._server or self._bind()
        server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving and close the socket (and the FC router's wall-time ticker, if any)."""
        fc = self.fc
        if fc.router is not None:
            fc.router.stop()
        server, self._server = self._server, None
        if server is None:
            return
        if self._thread is not None:
            server.shutdown()
            self._thread.join(5)
            self._thread = None
        server.server_close()

    def reset(self) -> None:
        """Reset in-process (same as ``POST /_emulator/reset``)."""
        self.controller.handle("POST", PREFIX + "reset", b"")

    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """``host:port``, the value for the SDK ``Config.endpoint``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.endpoint}"

    @property
    def fc(self) -> FcService:
        """The FC service (``fc.backend.register(...)``, ``fc.backend.wait_idle()``, ``fc.router``)."""
        return next(s for s in self.services if isinstance(s, FcService))

    @property
    def control(self) -> EmulatorControl:
        """An HTTP client of the control plane."""
        return EmulatorControl(self.url)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
