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

from shared.clouds._clients import cached_client, loopback_endpoint, reveal
from shared.clouds._gateway import RpcGateway
from shared.clouds._retry import RetryPolicy
from shared.config import Credentials
from shared.errors import ResourceNotFoundError


def _config(region: str, credentials: Credentials, endpoint: str | None) -> Any:
    from alibabacloud_tea_openapi.utils_models import Config

    host, _ = loopback_endpoint(endpoint)
    return Config(access_key_id=credentials.access_key_id, access_key_secret=reveal(credentials.access_key_secret),
                  security_token=reveal(credentials.security_token), region_id=region,
                  endpoint=f"kms.{region}.aliyuncs.com", protocol="http" if endpoint else "https",
                  http_proxy=f"http://{host}" if host else None, connect_timeout=5000, read_timeout=10000)


class KmsGateway(RpcGateway):
    """DescribeKey per region."""

    @classmethod
    def connect(cls, credentials: Credentials, *, endpoint: str | None = None,
                retry: RetryPolicy | None = None) -> KmsGateway:
        """Real SDK clients, cached per region and credentials; `endpoint` sends them to the emulator."""

        def client_for(region: str) -> Any:
            return cached_client("kms", region, credentials, endpoint,
                                 lambda: KmsClient(_config(region, credentials, endpoint)))

        return cls(client_for, retry=retry)

    def key_state(self, region: str, key_id: str) -> str | None:
        """The key's KeyState (`Enabled`, `Disabled`, `PendingDeletion`…), None when it does not exist."""
        try:
            body = self._call(region, "describe_key", kms_models.DescribeKeyRequest(key_id=key_id))
        except ResourceNotFoundError:
            return None
        return str((body.get("KeyMetadata") or {}).get("KeyState") or "")
