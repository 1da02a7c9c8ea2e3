"""Signatures: ACS3 (default) and RPC v1, unknown keys, bad secrets, STS tokens, unsigned requests."""

from __future__ import annotations

import json
import urllib.request

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from emulator import Emulator, EmulatorControl

from .conftest import ClientFactory
from .helpers import raises_code

SCHEMES = pytest.mark.parametrize("v1", [False, True], ids=["acs3", "v1"])


def _describe(client: object) -> object:
    return client.describe_regions(ecs_models.DescribeRegionsRequest())  # type: ignore[attr-defined]


@SCHEMES
def test_valid_signature_is_accepted(make_client: ClientFactory, v1: bool) -> None:
    # WHEN a correctly signed call is made THEN it succeeds with a RequestId
    body = _describe(make_client(v1=v1)).body  # type: ignore[attr-defined]
    assert body.request_id
    assert any(r.region_id == "cn-hangzhou" for r in body.regions.region)


@SCHEMES
def test_unknown_access_key_is_404(make_client: ClientFactory, v1: bool) -> None:
    with raises_code("InvalidAccessKeyId.NotFound", 404):
        _describe(make_client(v1=v1, ak="nobody"))


@SCHEMES
def test_wrong_secret_is_signature_mismatch(make_client: ClientFactory, v1: bool) -> None:
    with pytest.raises(ClientException) as info:
        _describe(make_client(v1=v1, secret="wrong"))
    assert (info.value.code, info.value.status_code) == ("SignatureDoesNotMatch", 400)


@SCHEMES
def test_any_sts_token_is_accepted(make_client: ClientFactory, v1: bool) -> None:
    assert _describe(make_client(v1=v1, token="CAIS-any-sts-token")).body.request_id  # type: ignore[attr-defined]


@SCHEMES
def test_seeded_access_key_is_accepted(make_client: ClientFactory, control: EmulatorControl, v1: bool) -> None:
    # GIVEN an extra AccessKey pair
    control.seed({"access_keys": [{"id": "fc-ak", "secret": "fc-secret"}]})
    # THEN it signs valid calls
    assert _describe(make_client(v1=v1, ak="fc-ak", secret="fc-secret")).body.request_id  # type: ignore[attr-defined]


def test_unsigned_request_is_missing_authorization(emulator: Emulator) -> None:
    request = urllib.request.Request(
        f"{emulator.url}/?RegionId=cn-hangzhou",
        method="POST",
        headers={"x-acs-action": "DescribeRegions", "x-acs-version": "2014-05-26"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(request)
    body = json.loads(info.value.read())
    assert info.value.code == 400
    assert body["Code"] == "MissingAuthorization"
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}


def test_auth_failures_are_logged(make_client: ClientFactory, control: EmulatorControl) -> None:
    with pytest.raises(ClientException):
        _describe(make_client(ak="nobody"))
    [entry] = control.requests()
    assert entry["action"] == "DescribeRegions"
    assert (entry["status"], entry["code"]) == (404, "InvalidAccessKeyId.NotFound")
