"""ESS routing and wire shapes: DescribeScalingConfigurations for both API versions of product ``ess``.

* ``2022-02-22`` (the current SDK ``alibabacloud_ess20220222``, which image-relay uses): the list is bare,
  ``{"TotalCount","PageNumber","PageSize","ScalingConfigurations":[{…}]}``; filters ``ScalingConfigurationIds.N``,
  ``ScalingConfigurationNames.N`` [SDK 1.13.3 ``client.describe_scaling_configurations_with_options`` and
  ``_describe_scaling_configurations_response_body.py``].
* ``2014-08-28`` (the legacy API, SDK ``alibabacloud_ess20140828``): the list is wrapped,
  ``{"ScalingConfigurations":{"ScalingConfiguration":[{…}]}}``; filters ``ScalingConfigurationId.N``,
  ``ScalingConfigurationName.N`` [SDK 1.0.1 ``models.DescribeScalingConfigurationsResponseBody``].

Both accept ``RegionId`` (required), ``ScalingGroupId``, ``PageNumber`` (≥1) and ``PageSize`` (1–50, default 10;
the bound is UNCONFIRMED, outside it → 400 ``InvalidParameter.PageSize``). Each entry carries the fields a
cleanup reads (``ScalingConfigurationId``, ``ScalingGroupId``, ``ImageId``, ``ImageFamily``, ``ImageName``,
``LifecycleState``) plus a few more; the SDKs ignore absent optional fields. ESS is an RPC product like ECS
(ACS3 or v1 signatures, the same JSON error body), so the dispatcher serves it by ``x-acs-version``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from emulator.core.errors import InvalidActionError
from emulator.core.state import StrictModel, iso_z
from emulator.ess.models import EssBackend, EssSeed, ScalingConfiguration

if TYPE_CHECKING:
    from emulator.core.params import Params
    from emulator.core.state import State

VERSION = "2022-02-22"
LEGACY_VERSION = "2014-08-28"
MAX_PAGE = 50


def configuration_to_wire(c: ScalingConfiguration) -> dict[str, Any]:
    """One scaling configuration as DescribeScalingConfigurations renders it."""
    return {
        "ScalingConfigurationId": c.scaling_configuration_id,
        "ScalingConfigurationName": c.name,
        "ScalingGroupId": c.scaling_group_id,
        "ImageId": c.image_id,
        "ImageFamily": c.image_family,
        "ImageName": c.image_name,
        "ImageOwnerAlias": "self" if c.image_id else "",
        "LifecycleState": c.lifecycle_state,
        "InstanceType": c.instance_type,
        "CreationTime": iso_z(c.creation_time)[:16] + "Z",
    }


class EssService:
    """ESS ``2022-02-22``; owns the backend and the ``scaling_configurations`` seed key."""

    name = "ess"
    version = VERSION
    host_id = "ess.aliyuncs.com"
    seed_model: type[BaseModel] = EssSeed
    legacy = False

    def __init__(self, state: State, backend: EssBackend | None = None) -> None:
        self.backend = backend or EssBackend(state)
        self.actions: dict[str, Callable[[Params], dict[str, Any]]] = {
            "DescribeScalingConfigurations": self.describe_scaling_configurations,
        }

    def reset(self) -> None:
        """Drop every ESS resource."""
        self.backend.reset()

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        """Check the regions of the seeded configurations."""
        self.backend.validate_seed(_ess_part(seed), regions)

    def apply_seed(self, seed: BaseModel) -> None:
        """Add the seeded configurations."""
        self.backend.apply_seed(_ess_part(seed))

    def settle(self, now: float) -> None:
        """Nothing in ESS moves with time here."""

    def call(self, action: str, params: Params) -> dict[str, Any]:
        """Route ``action``."""
        method = self.actions.get(action)
        if method is None:
            raise InvalidActionError()
        return method(params)

    def describe_scaling_configurations(self, params: Params) -> dict[str, Any]:
        """DescribeScalingConfigurations with PageNumber/PageSize paging, in this version's shape."""
        number, size = params.page(MAX_PAGE)
        suffix = "" if self.legacy else "s"
        found = self.backend.describe(
            params.required("RegionId"),
            params.indexed(f"ScalingConfigurationId{suffix}"),
            params.indexed(f"ScalingConfigurationName{suffix}"),
            params.get_str("ScalingGroupId"),
        )
        page = [configuration_to_wire(c) for c in found[(number - 1) * size : number * size]]
        return {
            "TotalCount": len(found),
            "PageNumber": number,
            "PageSize": size,
            "ScalingConfigurations": {"ScalingConfiguration": page} if self.legacy else page,
        }


class _NoKeys(StrictModel):
    """The legacy service contributes no seed key (``EssService`` owns ``scaling_configurations``)."""


class EssLegacyService(EssService):
    """ESS ``2014-08-28``: the same backend, the legacy wire shape; the seed keys belong to ``EssService``."""

    version = LEGACY_VERSION
    seed_model = _NoKeys
    legacy = True

    def reset(self) -> None:
        """The backend is reset by ``EssService``."""

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        """Seeds are handled by ``EssService``."""

    def apply_seed(self, seed: BaseModel) -> None:
        """Seeds are handled by ``EssService``."""


def ess_services(state: State) -> list[EssService]:
    """Both ESS versions over one backend."""
    current = EssService(state)
    return [current, EssLegacyService(state, current.backend)]


def _ess_part(seed: BaseModel) -> EssSeed:
    """Extract the ESS keys of the composed seed model."""
    return EssSeed.model_validate(seed.model_dump(include=set(EssSeed.model_fields)))
