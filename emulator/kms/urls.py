"""KMS (API version 2016-01-20): DescribeKey, so a pre-flight can tell a missing or disabled key.

Wire shape (official `alibabacloud_kms20160120` 3.x, `describe_key_with_options`; doc
https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-describekey):
RPC, POST, `KeyId` (key id, ARN or alias). Answer `{"RequestId", "KeyMetadata": {"KeyId", "Arn",
"KeyState", "KeySpec", "KeyUsage", "Origin", "CreationDate", "Creator", "ProtectionLevel",
"Description"}}`. The region is the endpoint host `kms.<region>.aliyuncs.com` (proxy mode).

Keys are the ECS seed's `kms_keys` (the same keys CopyImage checks), all `Enabled`; the KMS seed
`kms_key_states: [{"region", "key_id", "state"}]` sets another state (`Disabled`, `PendingDeletion`).
A missing key answers 404 `Forbidden.KeyNotFound` "The specified Key is not found." (UNCONFIRMED: the
status; the code is the documented one).
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from emulator.core.dispatch import HttpRequest
from emulator.core.errors import EmulatorError, InvalidActionError, MissingParameterError
from emulator.core.params import Params
from emulator.core.state import State, StrictModel, iso_z

VERSION = "2016-01-20"
_HOST = re.compile(r"^kms(?:-vpc)?\.([a-z0-9-]+)\.aliyuncs\.com(?::\d+)?$", re.I)


class SeedKeyState(StrictModel):
    """A key's state other than Enabled."""

    region: str
    key_id: str
    state: Literal["Enabled", "Disabled", "PendingDeletion", "PendingImport"]


class KmsSeed(StrictModel):
    """The KMS part of a seed."""

    kms_key_states: list[SeedKeyState] = Field(default_factory=list)


class KmsService:
    """DescribeKey over the ECS backend's keys (HostRoutedService: the region is the host)."""

    name = "kms"
    version = VERSION
    host_id = "kms.aliyuncs.com"
    seed_model: type[BaseModel] = KmsSeed

    def __init__(self, state: State, ecs_backend: Any) -> None:
        self.state, self.ecs = state, ecs_backend
        self.states: dict[tuple[str, str], str] = {}

    def reset(self) -> None:
        self.states.clear()

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        return None

    def apply_seed(self, seed: BaseModel) -> None:
        for item in getattr(seed, "kms_key_states", []) or []:
            self.states[(item.region, item.key_id)] = item.state

    def settle(self, now: float) -> None:
        return None

    def call(self, action: str, params: Params) -> dict[str, Any]:
        return self.call_in_region(action, params, None)

    def request_region(self, request: HttpRequest, params: Params) -> str | None:
        host = next((v for k, v in request.headers.items() if k.lower() == "host"), "")
        match = _HOST.match(host.strip())
        return match.group(1).lower() if match else None

    def handle_request(self, request: HttpRequest, action: str, params: Params) -> dict[str, Any]:
        return self.call_in_region(action, params, self.request_region(request, params))

    def call_in_region(self, action: str, params: Params, region: str | None) -> dict[str, Any]:
        if action != "DescribeKey":
            raise InvalidActionError()
        key_id = params.get_str("KeyId")
        if not key_id:
            raise MissingParameterError("KeyId")
        region = region or "cn-hangzhou"
        if (region, key_id) not in self.ecs.kms_keys:
            raise EmulatorError("Forbidden.KeyNotFound", 404, "The specified Key is not found.")
        account = self.state.account_id
        return {"KeyMetadata": {
            "KeyId": key_id, "Arn": f"acs:kms:{region}:{account}:key/{key_id}",
            "KeyState": self.states.get((region, key_id), "Enabled"), "KeySpec": "Aliyun_AES_256",
            "KeyUsage": "ENCRYPT/DECRYPT", "Origin": "Aliyun_KMS", "ProtectionLevel": "SOFTWARE",
            "CreationDate": iso_z(self.state.clock.now()), "Creator": account, "Description": ""}}
