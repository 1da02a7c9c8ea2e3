"""RAM (API version 2015-05-01): GetRole, ListPoliciesForRole, GetPolicy, for a read-only pre-flight.

Wire shape (official `alibabacloud_ram20150501` 1.x; RPC, POST, global endpoint `ram.aliyuncs.com`;
docs https://www.alibabacloud.com/help/en/ram/developer-reference/api-ram-2015-05-01-getrole and
…-listpoliciesforrole, …-getpolicy):
- GetRole `RoleName` → `{"Role": {"RoleId", "RoleName", "Arn", "Description", "AssumeRolePolicyDocument",
  "CreateDate", "UpdateDate", "MaxSessionDuration"}}`; absent → 404 `EntityNotExist.Role`
  "The role does not exist: <name>.".
- ListPoliciesForRole `RoleName` → `{"Policies": {"Policy": [{"PolicyName", "PolicyType", "DefaultVersion",
  "Description", "AttachDate"}]}}`; absent role → 404 `EntityNotExist.Role`.
- GetPolicy `PolicyName`, `PolicyType` (System | Custom) → `{"Policy": {…}, "DefaultPolicyVersion":
  {"VersionId", "IsDefaultVersion", "PolicyDocument" (a JSON string), "CreateDate"}}`; absent → 404
  `EntityNotExist.Policy` (UNCONFIRMED: the message).

Seed: `ram_roles: [{"name", "policies": [{"name", "type", "document": {...}}]}]`. A caller is never
denied here (UNCONFIRMED convenience: the real service answers 403 `NoPermission` without ram:GetRole).
"""
from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from emulator.core.errors import EmulatorError, InvalidActionError, MissingParameterError
from emulator.core.params import Params
from emulator.core.state import State, StrictModel, iso_z

VERSION = "2015-05-01"


class SeedPolicy(StrictModel):
    """A policy attached to a role."""

    name: str
    type: Literal["System", "Custom"] = "Custom"
    document: dict[str, Any] = Field(default_factory=lambda: {"Version": "1", "Statement": []})


class SeedRole(StrictModel):
    """A RAM role and its attached policies."""

    name: str = Field(min_length=1, max_length=64)
    policies: list[SeedPolicy] = Field(default_factory=list)


class RamSeed(StrictModel):
    """The RAM part of a seed."""

    ram_roles: list[SeedRole] = Field(default_factory=list)


class RamService:
    """Roles and policies, read-only over the wire."""

    name = "ram"
    version = VERSION
    host_id = "ram.aliyuncs.com"
    seed_model: type[BaseModel] = RamSeed

    def __init__(self, state: State) -> None:
        self.state = state
        self.roles: dict[str, SeedRole] = {}

    def reset(self) -> None:
        self.roles.clear()

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        return None

    def apply_seed(self, seed: BaseModel) -> None:
        for role in getattr(seed, "ram_roles", []) or []:
            self.roles[role.name] = role

    def settle(self, now: float) -> None:
        return None

    def _role(self, params: Params) -> SeedRole:
        name = params.get_str("RoleName")
        if not name:
            raise MissingParameterError("RoleName")
        role = self.roles.get(name)
        if role is None:
            raise EmulatorError("EntityNotExist.Role", 404, f"The role does not exist: {name}.")
        return role

    def call(self, action: str, params: Params) -> dict[str, Any]:
        account, now = self.state.account_id, iso_z(self.state.clock.now())
        if action == "GetRole":
            role = self._role(params)
            return {"Role": {"RoleId": f"3{abs(hash(role.name)) % 10**17:017d}", "RoleName": role.name,
                             "Arn": f"acs:ram::{account}:role/{role.name.lower()}", "Description": "",
                             "AssumeRolePolicyDocument": "{}", "CreateDate": now, "UpdateDate": now,
                             "MaxSessionDuration": 3600}}
        if action == "ListPoliciesForRole":
            role = self._role(params)
            return {"Policies": {"Policy": [{"PolicyName": p.name, "PolicyType": p.type, "DefaultVersion": "v1",
                                             "Description": "", "AttachDate": now} for p in role.policies]}}
        if action == "GetPolicy":
            name, kind = params.get_str("PolicyName"), params.get_str("PolicyType")
            if not name:
                raise MissingParameterError("PolicyName")
            found = next((p for r in self.roles.values() for p in r.policies if p.name == name
                          and (kind is None or p.type == kind)), None)
            if found is None:
                raise EmulatorError("EntityNotExist.Policy", 404, f"The policy does not exist: {name}.")
            return {"Policy": {"PolicyName": found.name, "PolicyType": found.type, "DefaultVersion": "v1",
                               "Description": "", "AttachmentCount": 1, "CreateDate": now, "UpdateDate": now},
                    "DefaultPolicyVersion": {"VersionId": "v1", "IsDefaultVersion": True,
                                             "PolicyDocument": json.dumps(found.document), "CreateDate": now}}
        raise InvalidActionError()
