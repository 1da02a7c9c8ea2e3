"""A tiny urllib client of the emulator control plane (``/_emulator/*``).

It bypasses any ``HTTP_PROXY`` from the environment: the emulator is always reached directly.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class EmulatorControlError(RuntimeError):
    """A control call answered with a 4xx/5xx; ``body`` holds the JSON error (e.g. the failing seed field)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"{status}: {body}")


class EmulatorControl:
    """Control-plane client: ``EmulatorControl("http://127.0.0.1:PORT").seed({...})``."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method: str, name: str, payload: dict[str, Any] | None = None) -> Any:
        """Send one JSON request and decode the JSON answer; raise ``EmulatorControlError`` on errors."""
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.url}/_emulator/{name}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            body = error.read()
            raise EmulatorControlError(error.code, json.loads(body) if body else None) from None

    def reset(self) -> None:
        """Clear every resource, fault, config and log."""
        self._call("POST", "reset", {})

    def seed(self, seed: dict[str, Any]) -> None:
        """Add seeded resources (see ``emulator.core.control``)."""
        self._call("POST", "seed", seed)

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the virtual clock forward; return ``{"now", "epoch"}``."""
        result: dict[str, Any] = self._call("POST", "clock", {"advance_seconds": seconds})
        return result

    def clock(self) -> dict[str, Any]:
        """Return the virtual clock ``{"now": ISO Z, "epoch": float}``."""
        result: dict[str, Any] = self._call("GET", "clock")
        return result

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault plan (no arguments clears it)."""
        result: dict[str, Any] = self._call("POST", "faults", faults)
        return result

    def configure(self, **config: Any) -> dict[str, Any]:
        """Update tunables (copy_slots, copy_gib_per_minute, image_quota, acr_sync_seconds, acr_error_rate…)."""
        result: dict[str, Any] = self._call("POST", "config", config)
        return result

    def acr_push(self, push: dict[str, Any]) -> dict[str, Any]:
        """Push a CR tag (``{"instance_id", "namespace", "repo", "tag", "digest", "size_bytes"?}``); return the
        ``cr:Artifact:PushCompleted`` CloudEvent the service would publish."""
        result: dict[str, Any] = self._call("POST", "acr/push", push)
        return result

    def ecs_create_image(self, image: dict[str, Any]) -> dict[str, Any]:
        """Create an image "in the console" (``{"region", "image_id"?, "name"?, "tags"?, …}``, Creating by
        default); return ``{"ImageId", "event"}`` (the ActionTrail CreateImage event the router delivers)."""
        result: dict[str, Any] = self._call("POST", "ecs/create-image", image)
        return result

    def ecs_pipeline_outcome(self, outcome: dict[str, Any]) -> dict[str, Any]:
        """Inject the fate of Image Builder builds: ``{"pipeline_id", "outcome", "failed_regions"?, "count"?}``
        for the template's next builds, or ``{"execution_id", "outcome", …}`` for a running one."""
        result: dict[str, Any] = self._call("POST", "ecs/pipeline-outcome", outcome)
        return result

    def fc_invocations(self) -> list[dict[str, Any]]:
        """Every async FC invocation (StatefulAsyncInvocation JSON, stateless ones included)."""
        result: list[dict[str, Any]] = self._call("GET", "fc/invocations")
        return result

    def eventbridge_events(self) -> list[dict[str, Any]]:
        """Every event PutEvents accepted: ``{region, bus, event}``."""
        result: list[dict[str, Any]] = self._call("GET", "eventbridge/events")
        return result

    def requests(self) -> list[dict[str, Any]]:
        """Return the API call log."""
        result: list[dict[str, Any]] = self._call("GET", "requests")
        return result
