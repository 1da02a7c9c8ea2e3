"""Fixtures of the emulator's contract tests: the session's emulator (tests/conftest.py) reset before each test,
and REAL ECS/CR SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_cr20181201.client import Client as CrClient
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi import models as open_api_models

from emulator import Emulator, EmulatorControl

ClientFactory = Callable[..., Client]


@pytest.fixture(autouse=True)
def _reset(emulator: Emulator) -> None:
    """Every test starts from the default state."""
    emulator.control.reset()


@pytest.fixture
def control(emulator: Emulator) -> EmulatorControl:
    """The control-plane client."""
    return emulator.control


@pytest.fixture
def make_client(emulator: Emulator) -> ClientFactory:
    """Build a real ECS client; ``v1=True`` uses the legacy RPC signer (``signature_algorithm='v2'``)."""

    def build(
        v1: bool = False,
        ak: str = "test-ak",
        secret: str = "test-secret",
        token: str | None = None,
        region: str = "cn-hangzhou",
    ) -> Client:
        kwargs: dict[str, Any] = {"signature_algorithm": "v2"} if v1 else {}
        config = open_api_models.Config(
            access_key_id=ak,
            access_key_secret=secret,
            security_token=token,
            endpoint=emulator.endpoint,
            protocol="http",
            region_id=region,
            **kwargs,
        )
        return Client(config)

    return build


@pytest.fixture
def ecs(make_client: ClientFactory) -> Client:
    """ACS3-signed client (SDK default)."""
    return make_client()


@pytest.fixture(params=["acs3", "v1"])
def any_ecs(request: pytest.FixtureRequest, make_client: ClientFactory) -> Client:
    """The same test with both signature schemes."""
    return make_client(v1=request.param == "v1")



# --- Container Registry (cr 2018-12-01) ---------------------------------------------------------------------

CrClientFactory = Callable[..., CrClient]


@pytest.fixture
def make_cr(emulator: Emulator) -> CrClientFactory:
    """Build a real CR client. Default: forward-proxy mode, ``endpoint="cr.<region>.aliyuncs.com"`` with the
    emulator as ``http_proxy``; ``direct=True`` points ``endpoint`` at the emulator instead."""

    def build(
        region: str = "cn-hangzhou",
        v1: bool = False,
        ak: str = "test-ak",
        secret: str = "test-secret",
        direct: bool = False,
    ) -> CrClient:
        kwargs: dict[str, Any] = {"signature_algorithm": "v2"} if v1 else {}
        if direct:
            kwargs["endpoint"] = emulator.endpoint
        else:
            kwargs["endpoint"] = f"cr.{region}.aliyuncs.com"
            kwargs["http_proxy"] = f"http://127.0.0.1:{emulator.port}"
        config = open_api_models.Config(access_key_id=ak, access_key_secret=secret, protocol="http", **kwargs)
        return CrClient(config)

    return build


@pytest.fixture
def cr(make_cr: CrClientFactory) -> CrClient:
    """Proxy-mode CR client of cn-hangzhou (ACS3)."""
    return make_cr()
