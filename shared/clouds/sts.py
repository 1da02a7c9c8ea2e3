"""Credentials per account (issue #13): STS AssumeRole through `alibabacloud_sts20150401`, cached per role.

A partner account is reached through a RAM role in that account which trusts the source account. This module
owns the STS SDK: `StsGateway.assume_role` returns typed temporary credentials; `AccountSessions` caches them
per role ARN until `margin` seconds before their Expiration and builds the partner's `EcsGateway` from them.

Why a refresh on `InvalidSecurityToken.Expired` as well as the margin: the local clock and the service's can
disagree (and the emulator's clock is virtual); an expired credential must cost one more AssumeRole, never
the run. A role that cannot be assumed is a `RoleAssumeError` that names the role ARN and the service's code,
so the failure a person reads says what to fix ("NoPermission: role X cannot be assumed").

Never a token in a log: `Credentials` registers secret and token with the log redactor on creation, its
`repr` hides both, and nothing here logs or returns them except inside that model.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from pydantic import BaseModel, ConfigDict

from shared.clouds._clients import openapi_config
from shared.clouds._gateway import RpcGateway
from shared.clouds._retry import RetryPolicy
from shared.clouds.ecs import EcsGateway
from shared.config import Credentials
from shared.errors import CloudAuthError, CloudError, InvalidCloudRequestError, ResourceNotFoundError
from shared.runtime import Deadline

ROLE_ARN = re.compile(r"^acs:ram::(\d{16}):role/([A-Za-z0-9.\-]{1,64})\Z")
#: AssumeRole's default and (for roles with the default MaxSessionDuration) maximum, in seconds.
SESSION_SECONDS = 3600
#: Credentials are renewed this long before their Expiration.
REFRESH_MARGIN_SECONDS = 300
EXPIRED_CODES = frozenset({"InvalidSecurityToken.Expired", "SecurityTokenExpired"})
STS_REGION = "cn-hangzhou"


class RoleAssumeError(CloudAuthError):
    """The role cannot be assumed (absent, or its trust policy does not name this account)."""


def account_of(role_arn: str) -> str:
    """The 16-digit account id of ``acs:ram::<account>:role/<name>`` (ValueError when malformed)."""
    match = ROLE_ARN.match(role_arn)
    if match is None:
        raise ValueError(f"not a RAM role ARN: {role_arn!r}")
    return match.group(1)


class AssumedRole(BaseModel):
    """Temporary credentials of one role session; ``repr`` never shows secret or token."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    role_arn: str
    account_id: str
    credentials: Credentials
    expiration: float  # epoch seconds


def _epoch(value: str) -> float:
    """Parse STS's ``2015-04-09T11:52:19Z``."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class StsGateway(RpcGateway):
    """STS for one set of (the source account's) credentials."""

    SERVICE = "sts"

    @classmethod
    def sdk_client(cls, region: str, credentials: Credentials, endpoint: str | None) -> Any:
        """The official SDK client of `region` (`connect`, inherited, caches one per region and credentials)."""
        return StsClient(openapi_config(region, credentials, endpoint))

    def assume_role(self, role_arn: str, session_name: str, seconds: int = SESSION_SECONDS) -> AssumedRole:
        """AssumeRole; a refusal (absent role, untrusted caller) is a `RoleAssumeError` naming the ARN."""
        request = sts_models.AssumeRoleRequest(
            role_arn=role_arn, role_session_name=session_name, duration_seconds=seconds
        )
        try:
            body = self._call(STS_REGION, "assume_role", request)
        except (CloudAuthError, ResourceNotFoundError, InvalidCloudRequestError) as exc:
            raise RoleAssumeError(
                f"role {role_arn} cannot be assumed", code=exc.code, status=exc.status,
                request_id=exc.request_id,
            ) from exc
        creds = body.get("Credentials") or {}
        return AssumedRole(
            role_arn=role_arn,
            account_id=account_of(role_arn),
            credentials=Credentials(
                access_key_id=creds["AccessKeyId"],
                access_key_secret=creds["AccessKeySecret"],
                security_token=creds["SecurityToken"],
            ),
            expiration=_epoch(creds["Expiration"]),
        )


class AccountSessions:
    """Per role ARN: cached STS credentials and the partner account's ECS gateway (thread-safe)."""

    def __init__(
        self,
        sts: StsGateway,
        *,
        endpoint: str | None = None,
        retry: RetryPolicy | None = None,
        deadline: Deadline | None = None,
        session_name: str = "image-relay",
        margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sts = sts
        self.endpoint = endpoint
        self.retry = retry
        self.deadline = deadline
        self.session_name = session_name
        self.margin = margin
        self.clock = clock
        self.assumed = 0  # AssumeRole calls made (tests, summaries)
        self._cache: dict[str, AssumedRole] = {}
        self._lock = threading.Lock()

    def credentials(self, role_arn: str) -> Credentials:
        """Cached credentials of the role, renewed ``margin`` seconds before they expire."""
        with self._lock:
            held = self._cache.get(role_arn)
            if held is not None and self.clock() < held.expiration - self.margin:
                return held.credentials
        fresh = self.sts.assume_role(role_arn, self.session_name)
        with self._lock:
            self.assumed += 1
            self._cache[role_arn] = fresh
        return fresh.credentials

    def invalidate(self, role_arn: str) -> None:
        """Forget the role's credentials (the service said they expired)."""
        with self._lock:
            self._cache.pop(role_arn, None)

    def ecs(self, role_arn: str) -> EcsGateway:
        """ECS in the role's account: every call signs with the role's current credentials."""
        return PartnerEcsGateway(self, role_arn)


class PartnerEcsGateway(EcsGateway):
    """An `EcsGateway` over a role's credentials that re-assumes the role once when the token expired."""

    def __init__(self, sessions: AccountSessions, role_arn: str) -> None:
        self.sessions = sessions
        self.role_arn = role_arn
        self.account_id = account_of(role_arn)
        base = EcsGateway.connect(lambda: sessions.credentials(role_arn), endpoint=sessions.endpoint)
        super().__init__(base._client_for, retry=sessions.retry, deadline=sessions.deadline)

    def _call(self, region: str, method: str, request: Any, *, idempotent: bool = True) -> dict[str, Any]:
        try:
            return super()._call(region, method, request, idempotent=idempotent)
        except CloudError as exc:
            if exc.code not in EXPIRED_CODES:
                raise
            self.sessions.invalidate(self.role_arn)
            return super()._call(region, method, request, idempotent=idempotent)
