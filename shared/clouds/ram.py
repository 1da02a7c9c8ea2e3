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

from shared.clouds._clients import openapi_config
from shared.clouds._gateway import RpcGateway
from shared.config import Credentials
from shared.errors import ResourceNotFoundError


class RamGateway(RpcGateway):
    """Read calls on roles and policies."""

    SERVICE = "ram"

    @classmethod
    def sdk_client(cls, region: str, credentials: Credentials, endpoint: str | None) -> Any:
        """The official SDK client; RAM is global (every call names the region "global", one client)."""
        return RamClient(openapi_config("cn-hangzhou", credentials, endpoint, host="ram.aliyuncs.com"))

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
