"""The KMS adapter (pre-flight only): DescribeKey through `alibabacloud_kms20160120`.

`image-relay doctor` asks whether each KMS key a copy rule names exists and is enabled in its region,
before a copy fails on it. KMS routes by the endpoint host `kms.<region>.aliyuncs.com`, so against the
emulator the client keeps that host and goes through the emulator as its proxy (as CR does). No
function reaches this module, so the function role needs no KMS action.
"""
from __future__ import annotations

from typing import Any

from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_kms20160120.client import Client as KmsClient

from shared.clouds._clients import openapi_config
from shared.clouds._gateway import RpcGateway
from shared.config import Credentials
from shared.errors import ResourceNotFoundError


class KmsGateway(RpcGateway):
    """DescribeKey per region."""

    SERVICE = "kms"

    @classmethod
    def sdk_client(cls, region: str, credentials: Credentials, endpoint: str | None) -> Any:
        """The official SDK client of `region` (`connect`, inherited, caches one per region and credentials)."""
        return KmsClient(openapi_config(region, credentials, endpoint, host=f"kms.{region}.aliyuncs.com"))

    def key_state(self, region: str, key_id: str) -> str | None:
        """The key's KeyState (`Enabled`, `Disabled`, `PendingDeletion`…), None when it does not exist."""
        try:
            body = self._call(region, "describe_key", kms_models.DescribeKeyRequest(key_id=key_id))
        except ResourceNotFoundError:
            return None
        return str((body.get("KeyMetadata") or {}).get("KeyState") or "")
