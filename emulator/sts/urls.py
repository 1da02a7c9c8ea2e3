"""STS ``2015-04-01``: AssumeRole and GetCallerIdentity, the wire shape of ``alibabacloud_sts20150401``.

Endpoint ``sts.aliyuncs.com`` or ``sts.<region>.aliyuncs.com``; RPC style like ECS (ACS3 or v1 signatures, the
same JSON error body), so the dispatcher serves it by ``x-acs-version`` [SDK 1.2.0 ``client.py``].

AssumeRole (``RoleArn`` R, ``RoleSessionName`` R, ``DurationSeconds``, ``Policy``, ``ExternalId``) answers
``{"RequestId", "AssumedRoleUser": {"Arn", "AssumedRoleId"}, "Credentials": {"AccessKeyId",
"AccessKeySecret", "SecurityToken", "Expiration"}}`` with ``Expiration`` ISO ``yyyy-MM-ddTHH:mm:ssZ`` on the
virtual clock [SDK ``_assume_role_response_body.py``; STS API reference]. The credentials act as the role's
account (``emulator.core.accounts``). Rules, in this order:

* ``RoleArn`` not ``acs:ram::<16 digits>:role/<name>`` → 400 ``InvalidParameter.RoleArn`` (UNCONFIRMED code);
* ``RoleSessionName`` not 2–64 of ``[A-Za-z0-9.@_-]`` → 400 ``InvalidParameter.RoleSessionName`` "The
  parameter RoleSessionName is wrongly formed." (documented code and message; the 64 bound is the current
  API reference, older pages say 32);
* ``DurationSeconds`` outside 900–3600 → 400 ``InvalidParameter.DurationSeconds`` "The Min/Max value of
  DurationSeconds is 15min/1hr." (documented; a role's MaxSessionDuration can raise the maximum to 12 h,
  the emulator's roles keep the default 1 h, UNCONFIRMED);
* the account or the role does not exist → 404 ``EntityNotExist.Role`` "The role not exists: <arn>."
  (code from the STS error centre; status UNCONFIRMED);
* the caller's account is not in the role's ``trusted_accounts`` → 403 ``NoPermission`` "No permission
  perform sts:AssumeRole on this Role. Maybe you should check the role's trust policy." (documented code
  and message, alibabacloud.com/help/doc-detail/42775.htm; status UNCONFIRMED). The role's own account is
  trusted only when listed (a trust policy names its principals).

UNCONFIRMED: STS refuses AssumeRole with a root account's AccessKey (``NoPermission`` "Roles may not be
assumed by root accounts."); the emulator does not, because its pairs stand for RAM users and FC service
roles of the account. ``Policy`` and ``ExternalId`` are accepted and ignored. ``AssumedRoleId`` is
``<19 digits>:<session name>``.

GetCallerIdentity answers ``{"AccountId", "Arn", "IdentityType", "PrincipalId", "UserId", "RoleId"?}``:
``AssumedRoleUser`` with ``acs:ram::<account>:assumed-role/<role>/<session>`` for STS credentials, ``Account``
with ``acs:ram::<account>:root`` otherwise (UNCONFIRMED for RAM-user pairs).
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from emulator.core.errors import EmulatorError, InvalidActionError, MissingParameterError
from emulator.core.state import StrictModel, iso_z

if TYPE_CHECKING:
    from emulator.core.params import Params
    from emulator.core.state import State

VERSION = "2015-04-01"
ROLE_ARN = re.compile(r"^acs:ram::(\d{16}):role/([A-Za-z0-9.\-]{1,64})$")
SESSION_NAME = re.compile(r"^[A-Za-z0-9.@_\-]{2,64}$")
MIN_DURATION, MAX_DURATION = 900, 3600


class StsSeed(StrictModel):
    """STS has no seed keys of its own (accounts and roles are core keys)."""


def _error(code: str, status: int, message: str) -> EmulatorError:
    """An STS wire error."""
    return EmulatorError(code, status, message)


def role_id(arn: str) -> str:
    """A stable 19-digit role id for ``arn`` (the real one is assigned at role creation)."""
    return str(300000000000000000 + zlib.crc32(arn.encode()) * 1000).rjust(19, "3")[:19]


class StsService:
    """The STS plug-in: AssumeRole over the account registry of the core state."""

    name = "sts"
    version = VERSION
    host_id = "sts.aliyuncs.com"
    seed_model: type[BaseModel] = StsSeed

    def __init__(self, state: State) -> None:
        self.state = state

    def reset(self) -> None:
        """Sessions live in the core registry (reset with the state)."""

    def validate_seed(self, seed: BaseModel, regions: list[str]) -> None:
        """Nothing to check beyond the core ``accounts`` key."""

    def apply_seed(self, seed: BaseModel) -> None:
        """Nothing to add beyond the core ``accounts`` key."""

    def settle(self, now: float) -> None:
        """No timed events: expiry is checked when a session is used."""

    def call(self, action: str, params: Params) -> dict[str, Any]:
        """Route ``action``."""
        if action == "AssumeRole":
            return self.assume_role(params)
        if action == "GetCallerIdentity":
            return self.get_caller_identity()
        raise InvalidActionError()

    def assume_role(self, params: Params) -> dict[str, Any]:
        """Check the role and its trust policy; issue temporary credentials for the role's account."""
        arn = params.get_str("RoleArn")
        if not arn:
            raise MissingParameterError("RoleArn")
        session_name = params.get_str("RoleSessionName")
        if not session_name:
            raise MissingParameterError("RoleSessionName")
        match = ROLE_ARN.match(arn)
        if match is None:
            raise _error("InvalidParameter.RoleArn", 400, "The parameter RoleArn is wrongly formed.")
        if not SESSION_NAME.match(session_name):
            raise _error("InvalidParameter.RoleSessionName", 400,
                         "The parameter RoleSessionName is wrongly formed.")
        raw_duration = params.get_str("DurationSeconds") or str(MAX_DURATION)
        if not raw_duration.isdigit() or not MIN_DURATION <= int(raw_duration) <= MAX_DURATION:
            raise _error("InvalidParameter.DurationSeconds", 400, "The Min/Max value of DurationSeconds is 15min/1hr.")
        account_id, role_name = match.groups()
        account = self.state.registry.accounts.get(account_id)
        if account is None or role_name not in account.roles:
            raise _error("EntityNotExist.Role", 404, f"The role not exists: {arn}.")
        if self.state.current_account not in account.roles[role_name]:
            raise _error("NoPermission", 403, "No permission perform sts:AssumeRole on this Role. "
                         "Maybe you should check the role's trust policy.")
        now = self.state.clock.now()
        session = self.state.registry.issue(account_id, arn, session_name, now + int(raw_duration))
        return {
            "AssumedRoleUser": {
                "Arn": f"acs:ram::{account_id}:assumed-role/{role_name}/{session_name}",
                "AssumedRoleId": f"{role_id(arn)}:{session_name}",
            },
            "Credentials": {
                "AccessKeyId": session.access_key_id,
                "AccessKeySecret": session.access_key_secret,
                "SecurityToken": session.security_token,
                "Expiration": iso_z(session.expiration),
            },
        }

    def get_caller_identity(self) -> dict[str, Any]:
        """Who the request acts as (the dispatcher resolved it)."""
        account = self.state.current_account
        session = self.state.registry.sessions.get(self.state.caller_key or "")
        if session is None:
            return {"AccountId": account, "Arn": f"acs:ram::{account}:root", "IdentityType": "Account",
                    "PrincipalId": account, "UserId": account}
        role = session.role_arn.rsplit("/", 1)[1]
        rid = role_id(session.role_arn)
        return {"AccountId": account, "Arn": f"acs:ram::{account}:assumed-role/{role}/{session.session_name}",
                "IdentityType": "AssumedRoleUser", "PrincipalId": f"{rid}:{session.session_name}",
                "UserId": f"{rid}:{session.session_name}", "RoleId": rid}
