"""CR routing: the action table, the region of a request and the service plug-in.

The service is keyed by API version ``2018-12-01`` (``x-acs-version`` header or ``Version`` parameter) like
ECS; CR requests carry no ``RegionId``, so the region comes from the request's host:

* forward-proxy mode (``Config(endpoint="cr.<region>.aliyuncs.com", http_proxy="http://127.0.0.1:PORT",
  protocol="http")``): the target is absolute (``POST http://cr.cn-hangzhou.aliyuncs.com/?…``) and the
  ``Host`` header (or else the target's authority) ``cr.<region>.aliyuncs.com`` names the region;
  ``cr-vpc.<region>.aliyuncs.com`` is understood too. An instance id of another region is
  ``INSTANCE_NOT_EXIST``, ListInstance lists that region only;
* direct mode (``endpoint="127.0.0.1:PORT"``, any host that is not a CR host): no region from the host. The
  region is derived from ``InstanceId`` (the instance's own region; UNCONFIRMED emulator convenience),
  ListInstance lists every region, and the request log's ``region`` is the instance's region (None for an
  unknown instance or a ListInstance).

Business failures are HTTP 200 with ``IsSuccess: false`` (``emulator.acr.exceptions``); a missing or
malformed parameter is ``PARAM_INVALID`` the same way (UNCONFIRMED). The request log records that business
``Code`` in ``code`` (the dispatcher does it for every body with ``IsSuccess: false``).

Control call (``emulator.core.control`` routes ``/_emulator/acr/*`` here): ``POST /_emulator/acr/push``
``{"instance_id", "namespace", "repo", "tag", "digest", "size_bytes"?}`` → 200 with the
``cr:Artifact:PushCompleted`` CloudEvent (INFERRED, see ``models_base``) and header
``x-emulator-sync-task-ids`` (comma-separated ids of PASSIVE tasks the push started); unknown instance →
404 ``{"Code": "INSTANCE_NOT_EXIST"}``, bad body → 400 naming the field. It is not an API call: no faults,
no request-log entry. The event is also published on the state (the FC event router delivers it) when the
instance belongs to the home account; a push to a partner account's instance is answered but not published
(the partner's event bus is not the relay's; UNCONFIRMED emulator choice, like ECS's home-only events).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from emulator.acr import actions_sync_admin as sync_admin
from emulator.acr import exceptions as exc
from emulator.acr.models import AcrBackend
from emulator.acr.responses import AcrResponses
from emulator.acr.seed import AcrPush, AcrSeed
from emulator.core.dispatch import HttpResponse
from emulator.core.errors import InvalidActionError, InvalidParameterError, MissingParameterError

if TYPE_CHECKING:
    from emulator.core.dispatch import HttpRequest
    from emulator.core.params import Params
    from emulator.core.state import State

VERSION = "2018-12-01"

ACTIONS: dict[str, Callable[[AcrResponses, Params, str | None], dict[str, Any]]] = {
    "GetInstance": AcrResponses.get_instance,
    "ListInstance": AcrResponses.list_instance,
    "ListNamespace": AcrResponses.list_namespace,
    "ListRepository": AcrResponses.list_repository,
    "GetRepository": AcrResponses.get_repository,
    "ListRepoTag": AcrResponses.list_repo_tag,
    "CreateRepoSyncTask": AcrResponses.create_repo_sync_task,
    "GetRepoSyncTask": AcrResponses.get_repo_sync_task,
    "ListRepoSyncTask": AcrResponses.list_repo_sync_task,
    "CreateRepoSyncRule": AcrResponses.create_repo_sync_rule,
    "ListRepoSyncRule": AcrResponses.list_repo_sync_rule,
    "CancelRepoSyncTask": sync_admin.cancel_repo_sync_task,
    "CreateRepoSyncTaskByRule": sync_admin.create_repo_sync_task_by_rule,
    "DeleteRepoSyncRule": sync_admin.delete_repo_sync_rule,
    "GetRepoTag": sync_admin.get_repo_tag,
}

_CR_HOST = re.compile(r"^cr(?:-vpc)?\.([a-z0-9-]+)\.aliyuncs\.com(?::\d+)?$", re.I)


def host_region(request: HttpRequest) -> str | None:
    """Return ``<region>`` of a ``cr.<region>.aliyuncs.com`` host (Host header first, then the target)."""
    host = next((v for k, v in request.headers.items() if k.lower() == "host"), "") or urlsplit(request.target).netloc
    match = _CR_HOST.match(host.strip())
    return match.group(1).lower() if match else None


class AcrService:
    """The CR plug-in: backend + responses behind the core ``Service`` and ``HostRoutedService`` protocols."""

    name = "cr"
    version = VERSION
    host_id = "cr.aliyuncs.com"
    seed_model: type[BaseModel] = AcrSeed

    def __init__(self, state: State) -> None:
        self.backend = AcrBackend(state)
        self.responses = AcrResponses(self.backend)

    def reset(self) -> None:
        """Drop every CR resource."""
        self.backend.reset()

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        """Check the CR seed keys' cross-references."""
        self.backend.validate_seed(_acr_part(seed), regions)

    def apply_seed(self, seed: BaseModel) -> None:
        """Add the seeded CR resources."""
        self.backend.apply_seed(_acr_part(seed))

    def settle(self, now: float) -> None:
        """Finish sync tasks up to ``now``."""
        self.backend.settle(now)

    def call(self, action: str, params: Params) -> dict[str, Any]:
        """Run ``action`` without a host region (direct mode)."""
        return self.call_in_region(action, params, None)

    # --- HostRoutedService -----------------------------------------------------------------------------

    def request_region(self, request: HttpRequest, params: Params) -> str | None:
        """The host's region, or in direct mode the region of the ``InstanceId`` parameter."""
        region = host_region(request)
        if region is not None:
            return region
        inst = self.backend.instances.get(params.get_str("InstanceId") or "")
        return inst.region if inst else None

    def call_in_region(self, action: str, params: Params, region: str | None) -> dict[str, Any]:
        """Route ``action``; business failures become ``IsSuccess: false`` bodies."""
        method = ACTIONS.get(action)
        if method is None:
            raise InvalidActionError()
        try:
            return method(self.responses, params, region)
        except exc.AcrBusinessError as error:
            return _failure(error.code, error.message)
        except (MissingParameterError, InvalidParameterError) as error:
            return _failure("PARAM_INVALID", error.message)

    def handle_request(self, request: HttpRequest, action: str, params: Params) -> dict[str, Any]:
        """Run an API call with the region of its host (the dispatcher's entry point)."""
        return self.call_in_region(action, params, host_region(request))

    # --- control plane ---------------------------------------------------------------------------------

    def handle_control(self, method: str, name: str, payload: Any) -> HttpResponse | None:
        """``POST /_emulator/acr/push``; None for any other endpoint."""
        if (method, name) != ("POST", "acr/push"):
            return None
        push = AcrPush.model_validate(payload)
        try:
            event, tasks = self.backend.push(push)
        except exc.AcrBusinessError as error:
            return HttpResponse(404, {"Code": error.code, "Message": error.message})
        if self.backend.is_home(self.backend.instances[push.instance_id]):
            self.backend.state.publish(event)  # only the home account's event bus reaches the relay
        return HttpResponse(200, event, headers={"x-emulator-sync-task-ids": ",".join(tasks)})


def _failure(code: str, message: str) -> dict[str, Any]:
    """A business failure body (HTTP 200)."""
    return {"Code": code, "IsSuccess": False, "Message": message}


def _acr_part(seed: BaseModel) -> AcrSeed:
    """Extract the CR keys of the composed seed model."""
    return AcrSeed.model_validate(seed.model_dump(include=set(AcrSeed.model_fields)))
