"""Credentials the way Alibaba Cloud's own tools find them: FC's context first, then the official chain.

Inside a function, FC hands the service role's STS triple to the handler (`context.credentials`,
FC 2.0) or sets the ALIBABA_CLOUD_* variables (FC 3.0): those win. Elsewhere (a workstation, CI, an
ECS instance) the official `alibabacloud-credentials` providers are asked in the SDK's default
order: environment variables, OIDC (ACK RRSA), the aliyun CLI's profile in ~/.aliyun/config.json
(`--profile` / ALIBABA_CLOUD_PROFILE, else the file's `current`), ~/.alibabacloud/credentials, then
the ECS instance's RAM role from the metadata service.

Why the providers one by one rather than `DefaultCredentialsProvider`: that class reads its
environment once at import, so `--profile` given on the command line would be ignored; and when every
provider fails, its message is a Python list repr. Here the profile is passed explicitly and the
error names each place looked at, in a workstation's words. Only this module imports the SDK.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shared.config import ENV_AK_ID, ENV_AK_SECRET, Credentials, credentials_from
from shared.errors import ConfigError

ENV_PROFILE = "ALIBABA_CLOUD_PROFILE"
ENV_METADATA_DISABLED = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"
ENV_OIDC = ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN")


def _cli_config() -> Path:
    return Path.home() / ".aliyun" / "config.json"


def _sdk_file(env: Mapping[str, str]) -> Path:
    return Path(env.get("ALIBABA_CLOUD_CREDENTIALS_FILE") or Path.home() / ".alibabacloud" / "credentials")


def _providers(env: Mapping[str, str], profile: str | None) -> list[tuple[str, Callable[[], Any]]]:
    """(what a person would call it, a factory of the official provider), in the SDK's default order."""
    from alibabacloud_credentials.provider import (
        CLIProfileCredentialsProvider,
        EcsRamRoleCredentialsProvider,
        OIDCRoleArnCredentialsProvider,
        ProfileCredentialsProvider,
    )

    chain: list[tuple[str, Callable[[], Any]]] = []
    if all(env.get(name) for name in ENV_OIDC):
        chain.append(("OIDC (ALIBABA_CLOUD_OIDC_TOKEN_FILE, _ROLE_ARN, _OIDC_PROVIDER_ARN)",
                      lambda: OIDCRoleArnCredentialsProvider(
                          role_arn=env[ENV_OIDC[1]], oidc_provider_arn=env[ENV_OIDC[2]],
                          oidc_token_file_path=env[ENV_OIDC[0]])))
    name = profile or env.get(ENV_PROFILE) or None
    label = f"profile {name!r}" if name else "its current profile"
    chain.append((f"the aliyun CLI's {label} in {_cli_config()} (`aliyun configure`; --profile or {ENV_PROFILE})",
                  lambda: CLIProfileCredentialsProvider(profile_name=name, profile_file=str(_cli_config()))))
    if _sdk_file(env).is_file():
        chain.append((f"the SDK credentials file {_sdk_file(env)}",
                      lambda: ProfileCredentialsProvider(profile_file=str(_sdk_file(env)), profile_name=name)))
    if env.get(ENV_METADATA_DISABLED, "").lower() != "true":
        chain.append((f"the ECS instance's RAM role (instance metadata; set {ENV_METADATA_DISABLED}=true "
                      "off ECS to skip)", EcsRamRoleCredentialsProvider))
    return chain


def resolve_credentials(context: Any = None, *, profile: str | None = None,
                        env: Mapping[str, str] | None = None) -> Credentials:
    """The FC context's triple or the ALIBABA_CLOUD_* variables, else the first provider of the official
    chain that answers; none: a ``ConfigError`` naming every place looked at (never a secret)."""
    source = os.environ if env is None else env
    try:
        return credentials_from(context, source)
    except ConfigError as exc:
        if exc.field != ENV_AK_ID:  # a half-set pair is its own, clearer error
            raise
    tried = ["inside a function: FC's context (the service role)",
             f"environment: {ENV_AK_ID} and {ENV_AK_SECRET} (+ ALIBABA_CLOUD_SECURITY_TOKEN)"]
    for label, factory in _providers(source, profile):
        try:
            found = factory().get_credentials()
        except Exception as exc:  # noqa: BLE001 - every provider signals "not here" its own way
            tried.append(f"{label}: {_why(exc)}")
            continue
        if found is not None and found.get_access_key_id():
            return Credentials(access_key_id=found.get_access_key_id(),
                               access_key_secret=found.get_access_key_secret(),
                               security_token=found.get_security_token() or None)
        tried.append(f"{label}: nothing there")
    raise ConfigError("no Alibaba Cloud credentials found. Looked for: " + "; ".join(tried)
                      + ". Run `aliyun configure` (or pass --profile), or export the AccessKey pair",
                      field="credentials")


def _why(exc: Exception) -> str:
    """A provider's failure in a few words (its messages name files, never secrets)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
