"""The Auto Scaling (ESS) adapter: the scaling configurations of a region, the part of ESS that names images.

ESS is its own product (endpoint ``ess.<region>.aliyuncs.com``); image-relay reads it through the current
official SDK, ``alibabacloud_ess20220222`` (API version 2022-02-22, where ``ScalingConfigurations`` is a bare
list). It is imported only by the cleanup (a function imports only the SDK it uses). Errors are translated
once, in ``RpcGateway._call``; ``calls`` counts API calls like the other adapters.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alibabacloud_ess20220222 import models as ess_models
from alibabacloud_ess20220222.client import Client as EssClient

from shared.clouds._clients import openapi_config
from shared.clouds._gateway import RpcGateway
from shared.clouds.ess_types import ScalingConfiguration
from shared.config import Credentials

#: DescribeScalingConfigurations pages at most 50 (UNCONFIRMED; the SDK doc-comment gives only the default, 10).
PAGE_SIZE = 50


class EssGateway(RpcGateway):
    """ESS for one set of credentials; `client_for(region)` is injectable for tests."""

    SERVICE = "ess"

    @classmethod
    def sdk_client(cls, region: str, credentials: Credentials, endpoint: str | None) -> Any:
        """The official SDK client of `region` (`connect`, inherited, caches one per region and credentials)."""
        return EssClient(openapi_config(region, credentials, endpoint))

    def iter_scaling_configurations(self, region: str) -> Iterator[ScalingConfiguration]:
        """Every scaling configuration of `region`, active or not, 50 a page."""
        def request(page: int) -> Any:
            return ess_models.DescribeScalingConfigurationsRequest(region_id=region, page_number=page,
                                                                   page_size=PAGE_SIZE)

        for raw in self._paged(region, "describe_scaling_configurations", ("ScalingConfigurations",), request,
                               size=PAGE_SIZE):
            yield ScalingConfiguration(
                region=region,
                scaling_configuration_id=raw.get("ScalingConfigurationId") or "",
                scaling_group_id=raw.get("ScalingGroupId") or "",
                image_id=raw.get("ImageId") or "",
                image_family=raw.get("ImageFamily") or "",
                image_name=raw.get("ImageName") or "",
                lifecycle_state=raw.get("LifecycleState") or "",
            )
