"""The control plane: ``/_emulator/*`` JSON endpoints (unsigned, never logged as API calls).

* ``POST /_emulator/reset``: everything back to defaults.
* ``POST /_emulator/seed``: composed pydantic model (core keys + each service's keys, extra keys forbidden).
  Seeds are additive: resources are added to the current state (an existing id is replaced); ``regions``
  replaces the enabled set; ``account_id`` replaces the account; ``accounts`` adds partner accounts
  (``emulator.core.accounts``: a duplicate account or AccessKey, or a KMS key in a disabled region, is refused
  naming the field). A bad seed → 400
  ``{"Code":"InvalidSeed","Message":…,"Errors":[{"loc":"images.0.size_gib","msg":…}]}`` and nothing changes.
* ``GET|POST /_emulator/config``: tunables (partial update).
* ``GET|POST /_emulator/faults``: fault plan (a POST replaces the whole plan; ``{}`` clears it).
* ``GET /_emulator/clock`` → ``{"now","epoch"}``; ``POST {"advance_seconds": N}`` moves virtual time and
  settles every service event by event.
* ``GET /_emulator/requests``: the API call log, a bare JSON list.
* any other path is offered to each service implementing ``ControlService`` (CR: ``POST /_emulator/acr/push``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError, create_model

from emulator.core.dispatch import ControlService, HttpResponse
from emulator.core.errors import SeedError
from emulator.core.state import CoreSeed, EmulatorConfig, FaultConfig, StrictModel, iso_z

if TYPE_CHECKING:
    from emulator.core.dispatch import Service
    from emulator.core.state import State

PREFIX = "/_emulator/"


class ClockAdvance(StrictModel):
    """Body of ``POST /_emulator/clock``."""

    advance_seconds: float = Field(default=0.0, ge=0)


def build_seed_model(services: list[Service]) -> type[BaseModel]:
    """Compose the seed model from the core keys and every service's keys."""
    bases: tuple[type[BaseModel], ...] = (CoreSeed, *(s.seed_model for s in services))
    model: type[BaseModel] = create_model("Seed", __base__=bases)
    return model


def _bad_request(code: str, errors: list[dict[str, str]]) -> HttpResponse:
    """Answer 400 with the failing fields named."""
    message = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
    return HttpResponse(400, {"Code": code, "Message": message, "Errors": errors})


def _validation_errors(error: ValidationError) -> list[dict[str, str]]:
    """Flatten pydantic errors into ``{"loc": "images.0.size_gib", "msg": …}``."""
    return [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]} for e in error.errors()]


class Control:
    """Handles the control endpoints with the state lock held."""

    def __init__(self, state: State, services: list[Service]) -> None:
        self.state = state
        self.services = services
        self.seed_model = build_seed_model(services)

    def handle(self, method: str, path: str, body: bytes) -> HttpResponse:
        """Route one control call; unknown endpoints → 404."""
        name = path[len(PREFIX) :].split("?", 1)[0].strip("/")
        try:
            payload: Any = json.loads(body) if body.strip() else {}
        except ValueError:
            return _bad_request("InvalidJson", [{"loc": "body", "msg": "body is not JSON"}])
        with self.state.lock:
            self.settle()
            try:
                return self._route(method, name, payload)
            except ValidationError as error:
                return _bad_request("InvalidParameter", _validation_errors(error))

    def _route(self, method: str, name: str, payload: Any) -> HttpResponse:
        """Dispatch to the endpoint functions."""
        if method == "POST" and name == "reset":
            return self.reset()
        if method == "POST" and name == "seed":
            return self.seed(payload)
        if name == "config":
            if method == "POST":
                merged = {**self.state.config.model_dump(), **payload}
                self.state.config = EmulatorConfig.model_validate(merged)
            return HttpResponse(200, self.state.config.model_dump())
        if name == "faults":
            if method == "POST":
                self.state.faults.configure(FaultConfig.model_validate(payload))
            return HttpResponse(200, self.state.faults.config.model_dump())
        if name == "clock":
            if method == "POST":
                self.advance(ClockAdvance.model_validate(payload).advance_seconds)
            return HttpResponse(200, self.clock())
        if method == "GET" and name == "requests":
            return HttpResponse(200, list(self.state.requests))
        for service in self.services:
            if isinstance(service, ControlService):
                answer = service.handle_control(method, name, payload)
                if answer is not None:
                    return answer
        return HttpResponse(404, {"Code": "NotFound", "Message": f"no control endpoint {method} {name}"})

    def reset(self) -> HttpResponse:
        """Clear core state and every service."""
        self.state.reset()
        for service in self.services:
            service.reset()
        return HttpResponse(200, {"ok": True})

    def seed(self, payload: Any) -> HttpResponse:
        """Validate the whole seed, then apply it (all or nothing)."""
        try:
            seed = self.seed_model.model_validate(payload)
        except ValidationError as error:
            return _bad_request("InvalidSeed", _validation_errors(error))
        core = CoreSeed.model_validate(seed.model_dump(include=set(CoreSeed.model_fields)))
        regions = core.regions if core.regions is not None else self.state.regions
        static_keys = {k for k in self.state.access_keys if k not in self.state.registry.key_accounts}
        try:
            self.state.registry.validate(core.accounts, regions, static_keys | {k.id for k in core.access_keys})
            for service in self.services:
                service.validate_seed(seed, regions)
        except SeedError as error:
            return _bad_request("InvalidSeed", [{"loc": error.loc, "msg": error.msg}])
        self.state.apply_core_seed(core)
        for service in self.services:
            service.apply_seed(seed)
        return HttpResponse(200, {"ok": True})

    def settle(self) -> None:
        """Bring every service up to the virtual now."""
        now = self.state.clock.now()
        for service in self.services:
            service.settle(now)

    def advance(self, seconds: float) -> None:
        """Move virtual time forward; services settle event by event."""
        self.state.clock.advance(seconds)
        self.settle()

    def clock(self) -> dict[str, Any]:
        """Return the virtual now as ISO Z and epoch."""
        now = self.state.clock.now()
        return {"now": iso_z(now), "epoch": now}
