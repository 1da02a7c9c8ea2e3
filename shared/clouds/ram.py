"""The RAM adapter (pre-flight only): a role and its policy documents through `alibabacloud_ram20150501`.

`image-relay doctor` reads whether the export role exists and whether the function role's policies
allow each action the code calls. RAM is global (`ram.aliyuncs.com`); against the emulator the client
goes through it as its proxy. No function reaches this module, so the function role needs no RAM action.
"""
from __future__ import annotations

import json
from typing import Any

from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient

from shared.clouds._clients import cached_client, loopback_endpoint, reveal
from shared.clouds._gateway import RpcGateway
from shared.clouds._retry import RetryPolicy
from shared.config import Credentials
from shared.errors import ResourceNotFoundError


def _config(credentials: Credentials, endpoint: str | None) -> Any:
    from alibabacloud_tea_openapi.utils_models import Config

    host, _ = loopback_endpoint(endpoint)
    return Config(access_key_id=credentials.access_key_id, access_key_secret=reveal(credentials.access_key_secret),
                  security_token=reveal(credentials.security_token), region_id="cn-hangzhou",
                  endpoint="ram.aliyuncs.com", protocol="http" if endpoint else "https",
                  http_proxy=f"http://{host}" if host else None, connect_timeout=5000, read_timeout=10000)


class RamGateway(RpcGateway):
    """Read calls on roles and policies."""

    @classmethod
    def connect(cls, credentials: Credentials, *, endpoint: str | None = None,
                retry: RetryPolicy | None = None) -> RamGateway:
        """A real SDK client; `endpoint` sends it to the emulator."""

        def client_for(_region: str) -> Any:
            return cached_client("ram", "global", credentials, endpoint, lambda: RamClient(_config(credentials,
                                                                                                   endpoint)))

        return cls(client_for, retry=retry)

    def role_exists(self, name: str) -> bool:
        """True when the role exists (GetRole); False on EntityNotExist.Role."""
        try:
            self._call("global", "get_role", ram_models.GetRoleRequest(role_name=name))
        except ResourceNotFoundError:
            return False
        return True

    def role_documents(self, name: str) -> list[dict[str, Any]]:
        """The policy documents attached to the role (ListPoliciesForRole, then GetPolicy for each)."""
        listing = self._call("global", "list_policies_for_role", ram_models.ListPoliciesForRoleRequest(role_name=name))
        documents = []
        for policy in (listing.get("Policies") or {}).get("Policy") or []:
            body = self._call("global", "get_policy", ram_models.GetPolicyRequest(
                policy_name=policy.get("PolicyName"), policy_type=policy.get("PolicyType")))
            text = (body.get("DefaultPolicyVersion") or {}).get("PolicyDocument") or "{}"
            documents.append(json.loads(text) if isinstance(text, str) else text)
        return documents
