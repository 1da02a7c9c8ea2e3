"""Accounts of the emulator: who a request acts as, partner accounts, their RAM roles and KMS keys, STS sessions.

The emulator started as one account (``State.account_id``, the *home* account). Issue #13 makes it
multi-account with the smallest change: resources keep one store per service and carry their ``owner_id``
(ECS images and snapshots already did); what changes is *who is asking*. The dispatcher authenticates a
request, resolves its AccessKey (and security token) to an account here, and sets ``State.caller`` for the
duration of the call (under the state lock). Code that used ``state.account_id`` as "the caller's account"
uses ``state.current_account`` instead, which is the caller during an API call and the home account
otherwise (control plane, settling).

Seed shape (kept exactly as issue #13 states it, beside the existing keys)::

    {"accounts": [{"account_id": "<16 digits>", "access_key_id": "...", "access_key_secret": "...",
                   "roles": [{"name": "...", "trusted_accounts": ["<16 digits>"]}],
                   "kms_keys": [{"region": "...", "key_id": "..."}]}]}

Requests signed with the seed's top-level pair (``test-ak``/``test-secret``, or any ``access_keys`` entry) act
as the seed's ``account_id``; a partner's pair acts as that partner.

STS (``emulator.sts``) issues temporary credentials: AccessKeyId ``STS.`` + 24 characters, a secret, a
SecurityToken ``CAIS…``, an Expiration on the virtual clock. A request made with such an AccessKeyId must
carry its token (``x-acs-security-token`` header for ACS3, ``SecurityToken`` parameter for v1).

Errors (STS common errors, alibabacloud.com/help/doc-detail/42775.htm and the Alibaba SDKs' error constants):

* the session's Expiration has passed → 400 ``InvalidSecurityToken.Expired`` "Specified SecurityToken is
  expired." (the code is the documented one; the HTTP status 400 is UNCONFIRMED);
* an STS AccessKeyId without a token → 400 ``MissingSecurityToken`` "SecurityToken is mandatory for this
  action." (documented message; status UNCONFIRMED);
* a token that is not the session's → 400 ``InvalidSecurityToken.MismatchWithAccessKey`` (code from the
  Alibaba SDK constants; status UNCONFIRMED).

UNCONFIRMED choices:

* a token sent with a *static* pair is accepted without checking (as before: FC hands functions the home pair
  plus a token);
* expired sessions are kept (so a late request gets ``InvalidSecurityToken.Expired``, not
  ``InvalidAccessKeyId.NotFound``) until ``reset``;
* OSS and FC do not accept STS session keys (nothing in image-relay reaches them with a partner's role).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, model_validator

from emulator.core.errors import EmulatorError, SeedError

ACCOUNT_ID = r"^\d{16}$"


class StrictModel(BaseModel):
    """Unknown keys are errors (``emulator.core.state.StrictModel`` is this class, re-exported there)."""

    model_config = ConfigDict(extra="forbid")


class SeedRole(StrictModel):
    """A RAM role of a seeded account and the accounts its trust policy names."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.\-]+$")
    trusted_accounts: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sixteen_digits(self) -> SeedRole:
        for n, account in enumerate(self.trusted_accounts):
            if not account.isdigit() or len(account) != 16:
                raise ValueError(f"trusted_accounts.{n}: {account!r} is not a 16-digit account id")
        return self


class SeedAccountKmsKey(StrictModel):
    """A KMS key of a seeded account, in one region."""

    region: str = Field(min_length=1)
    key_id: str = Field(min_length=1)


class SeedAccount(StrictModel):
    """One more account (a partner): its AccessKey pair, RAM roles and KMS keys."""

    account_id: str = Field(pattern=ACCOUNT_ID)
    access_key_id: str = Field(min_length=1)
    access_key_secret: str = Field(min_length=1)
    roles: list[SeedRole] = Field(default_factory=list)
    kms_keys: list[SeedAccountKmsKey] = Field(default_factory=list)


@dataclass
class Account:
    """A registered account: roles (name → trusted account ids) and KMS keys ``(region, key_id)``."""

    account_id: str
    roles: dict[str, list[str]] = field(default_factory=dict)
    kms_keys: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class StsSession:
    """Temporary credentials issued by AssumeRole (the secret and token never leave the emulator's memory
    except in the AssumeRole answer)."""

    access_key_id: str
    access_key_secret: str
    security_token: str
    account_id: str
    role_arn: str
    session_name: str
    expiration: float


class SecurityTokenExpiredError(EmulatorError):
    """The session's Expiration has passed (documented code; status UNCONFIRMED)."""

    code = "InvalidSecurityToken.Expired"
    status = 400
    message = "Specified SecurityToken is expired."


class MissingSecurityTokenError(EmulatorError):
    """An STS AccessKeyId used without its token (documented code and message; status UNCONFIRMED)."""

    code = "MissingSecurityToken"
    status = 400
    message = "SecurityToken is mandatory for this action."


class SecurityTokenMismatchError(EmulatorError):
    """The token does not belong to the STS AccessKeyId (code from the SDK constants; status UNCONFIRMED)."""

    code = "InvalidSecurityToken.MismatchWithAccessKey"
    status = 400
    message = "Specified SecurityToken mismatch with the AccessKey."


def _random(alphabet: str, n: int) -> str:
    """Return ``n`` random characters of ``alphabet`` (secrets: these are credentials)."""
    return "".join(secrets.choice(alphabet) for _ in range(n))


class AccountRegistry:
    """Partner accounts, the AccessKey → account map and the STS sessions (state lock held by callers)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """No partner account, no session."""
        self.accounts: dict[str, Account] = {}
        self.key_accounts: dict[str, str] = {}
        self.sessions: dict[str, StsSession] = {}

    @staticmethod
    def validate(seeds: list[SeedAccount], regions: list[str], home_keys: set[str]) -> None:
        """Raise ``SeedError`` naming the field: duplicate account or AccessKey, a KMS key's disabled region."""
        seen_accounts: set[str] = set()
        seen_keys: set[str] = set(home_keys)
        for n, acc in enumerate(seeds):
            if acc.account_id in seen_accounts:
                raise SeedError(f"accounts.{n}.account_id", f"account {acc.account_id} is listed twice")
            if acc.access_key_id in seen_keys:
                raise SeedError(f"accounts.{n}.access_key_id", f"AccessKey {acc.access_key_id!r} is already used")
            seen_accounts.add(acc.account_id)
            seen_keys.add(acc.access_key_id)
            for k, key in enumerate(acc.kms_keys):
                if key.region not in regions:
                    raise SeedError(f"accounts.{n}.kms_keys.{k}.region", f"region {key.region!r} is not enabled")

    def apply(self, seeds: list[SeedAccount]) -> dict[str, str]:
        """Register the accounts (an existing id is replaced); return their AccessKey pairs to accept."""
        pairs: dict[str, str] = {}
        for acc in seeds:
            self.accounts[acc.account_id] = Account(
                account_id=acc.account_id,
                roles={r.name: list(r.trusted_accounts) for r in acc.roles},
                kms_keys={(k.region, k.key_id) for k in acc.kms_keys},
            )
            self.key_accounts[acc.access_key_id] = acc.account_id
            pairs[acc.access_key_id] = acc.access_key_secret
        return pairs

    def issue(self, account_id: str, role_arn: str, session_name: str, expiration: float) -> StsSession:
        """Create and remember a session for ``account_id``."""
        session = StsSession(
            access_key_id="STS." + _random(string.ascii_letters + string.digits, 24),
            access_key_secret=_random(string.ascii_letters + string.digits, 44),
            security_token="CAIS" + _random(string.ascii_letters + string.digits + "+/", 200),
            account_id=account_id,
            role_arn=role_arn,
            session_name=session_name,
            expiration=expiration,
        )
        self.sessions[session.access_key_id] = session
        return session

    def session_secrets(self) -> dict[str, str]:
        """Secrets of every issued session (expired ones too: expiry is checked after the signature)."""
        return {k: s.access_key_secret for k, s in self.sessions.items()}

    def resolve(self, key_id: str, token: str | None, now: float, home: str) -> str:
        """Return the account a verified AccessKey acts as; check an STS session's token and expiry."""
        session = self.sessions.get(key_id)
        if session is None:
            return self.key_accounts.get(key_id, home)
        if not token:
            raise MissingSecurityTokenError()
        if not secrets.compare_digest(token, session.security_token):
            raise SecurityTokenMismatchError()
        if now >= session.expiration:
            raise SecurityTokenExpiredError()
        return session.account_id

    def kms_key_exists(self, account_id: str, region: str, key_id: str) -> bool:
        """True when a registered account has ``key_id`` in ``region``."""
        acc = self.accounts.get(account_id)
        return acc is not None and (region, key_id) in acc.kms_keys
