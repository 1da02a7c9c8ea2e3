"""Contract: the legacy Python SDK (``aliyun-python-sdk-core`` + ``aliyun-python-sdk-ecs``) against the emulator.

It signs RPC v1 (HMAC-SHA1 ``Signature`` parameter), sends generated requests as POST and ``CommonRequest`` as
GET by default, asks ``Format=JSON`` in ``do_action_with_exception`` and whatever ``set_accept_format`` says in
``do_action``. Pointing it at the emulator: ``request.set_endpoint("127.0.0.1:PORT")`` +
``request.set_protocol_type("http")`` (issue #17).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import AcsRequest, CommonRequest
from aliyunsdkecs.request.v20140526.CancelCopyImageRequest import CancelCopyImageRequest
from aliyunsdkecs.request.v20140526.DescribeImagesRequest import DescribeImagesRequest
from aliyunsdkecs.request.v20140526.DescribeRegionsRequest import DescribeRegionsRequest

from emulator import Emulator, EmulatorControl

from .helpers import CR_SEED, CR_SRC, image

AK, SECRET = "test-ak", "test-secret"


def _client(secret: str = SECRET) -> AcsClient:
    return AcsClient(AK, secret, "cn-hangzhou", auto_retry=False)


def _point(request: AcsRequest, emulator: Emulator, method: str | None = None, fmt: str | None = None) -> AcsRequest:
    request.set_endpoint(emulator.endpoint)
    request.set_protocol_type("http")
    if method:
        request.set_method(method)
    if fmt:
        request.set_accept_format(fmt)
    return request


def _common(emulator: Emulator, action: str, **params: str) -> CommonRequest:
    request = CommonRequest(domain=emulator.endpoint, version="2014-05-26", action_name=action)
    request.set_protocol_type("http")
    for key, value in params.items():
        request.add_query_param(key, value)
    return request


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_rpc_over_get_and_post_answers_json(emulator: Emulator, control: EmulatorControl, method: str) -> None:
    control.seed({"images": [image("m-legacy", name="legacy-img")]})
    request = _point(DescribeImagesRequest(), emulator, method=method)
    request.set_ImageId("m-legacy")
    body = json.loads(_client().do_action_with_exception(request))
    assert [i["ImageName"] for i in body["Images"]["Image"]] == ["legacy-img"]
    assert control.requests()[-1]["action"] == "DescribeImages"


def test_common_request_defaults_to_get(emulator: Emulator, control: EmulatorControl) -> None:
    request = _common(emulator, "DescribeRegions")
    assert request.get_method() == "GET"
    body = json.loads(_client().do_action_with_exception(request))
    assert "cn-hangzhou" in {r["RegionId"] for r in body["Regions"]["Region"]}
    last = control.requests()[-1]
    assert (last["service"], last["action"], last["status"]) == ("ecs", "DescribeRegions", 200)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_format_xml_answers_xml(emulator: Emulator, control: EmulatorControl, method: str) -> None:
    control.seed({"images": [image("m-x1", name="x-one"), image("m-x2", name="x-two")]})
    request = _point(DescribeImagesRequest(), emulator, method=method, fmt="XML")
    raw = _client().do_action(request)
    root = ET.fromstring(raw)
    assert root.tag == "DescribeImagesResponse"
    assert root.findtext("RequestId")
    assert sorted(e.findtext("ImageId") or "" for e in root.findall("./Images/Image")) == ["m-x1", "m-x2"]
    assert root.findtext("TotalCount") == "2"


def test_format_xml_error_is_an_error_document(emulator: Emulator) -> None:
    request = _point(CancelCopyImageRequest(), emulator, fmt="XML")
    request.set_ImageId("m-nope")
    raw = _client().do_action(request)  # do_action returns the body of an error too
    root = ET.fromstring(raw)
    assert (root.tag, root.findtext("Code")) == ("Error", "InvalidImageId.NotFound")
    assert root.findtext("RequestId") and root.findtext("HostId") == "ecs.aliyuncs.com"


def test_wrong_secret_raises_server_exception(emulator: Emulator) -> None:
    # The SDK compares the server's string-to-sign (from the message) with its own: equal means only the
    # secret differs, and it reports InvalidAccessKeySecret (aliyunsdkcore client._get_server_exception).
    request = _point(DescribeRegionsRequest(), emulator)
    with pytest.raises(ServerException) as info:
        _client(secret="wrong").do_action_with_exception(request)
    assert (info.value.get_error_code(), info.value.get_http_status()) == ("InvalidAccessKeySecret", 400)


def test_wrong_secret_over_get_raises_server_exception(emulator: Emulator) -> None:
    # CommonRequest keeps its string-to-sign on the inner request it builds, so the SDK's comparison fails
    # and the server's code comes through unchanged.
    with pytest.raises(ServerException) as info:
        _client(secret="wrong").do_action_with_exception(_common(emulator, "DescribeRegions"))
    assert (info.value.get_error_code(), info.value.get_http_status()) == ("SignatureDoesNotMatch", 400)
    assert "server string to sign is:GET&%2F&AccessKeyId%3Dtest-ak%26Action%3DDescribeRegions" in (
        info.value.get_error_msg())


def _signed_url(emulator: Emulator, params: dict[str, str], secret: str, method: str = "GET") -> str:
    """An RPC v1 URL signed independently of the emulator's code (the documented algorithm)."""
    canonical = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(params.items()))
    sts = f"{method}&%2F&{quote(canonical, safe='~')}"
    signature = base64.b64encode(hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
    return f"{emulator.url}/?{urlencode({**params, 'Signature': signature})}"


def _v1_params(**extra: str) -> dict[str, str]:
    return {
        "Action": "DescribeRegions", "Version": "2014-05-26", "AccessKeyId": AK, "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0", "SignatureNonce": "n-1", "Timestamp": "2026-11-25T00:00:00Z", **extra,
    }


def _fetch(url: str) -> tuple[int, str, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_signature_mismatch_message_carries_the_server_string_to_sign(emulator: Emulator) -> None:
    params = _v1_params(Format="JSON")
    canonical = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(params.items()))
    expected_sts = f"GET&%2F&{quote(canonical, safe='~')}"
    status, _, raw = _fetch(_signed_url(emulator, params, "not-the-secret"))
    body: dict[str, Any] = json.loads(raw)
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")
    assert body["Message"] == (
        "Specified signature is not matched with our calculation. server string to sign is:" + expected_sts
    )
    assert "not-the-secret" not in body["Message"]


def test_signature_mismatch_in_xml(emulator: Emulator) -> None:
    status, content_type, raw = _fetch(_signed_url(emulator, _v1_params(Format="XML"), "not-the-secret"))
    root = ET.fromstring(raw)
    assert (status, content_type, root.tag, root.findtext("Code")) == (
        400, "text/xml;charset=utf-8", "Error", "SignatureDoesNotMatch")
    assert "server string to sign is:GET&%2F&" in (root.findtext("Message") or "")


def test_get_without_action_is_not_rpc(emulator: Emulator) -> None:
    # A bare GET / is not an RPC call (it names no action): OSS answers it, in XML.
    status, content_type, raw = _fetch(f"{emulator.url}/")
    assert content_type.startswith("application/xml") and ET.fromstring(raw).tag == "Error"
    assert status == 403


def test_cr_format_xml_repeats_bare_array_items(emulator: Emulator, control: EmulatorControl) -> None:
    # CR answers bare JSON arrays; in XML each item is an element named after the list (UNCONFIRMED rendering)
    control.seed(CR_SEED)
    request = CommonRequest(domain=emulator.endpoint, version="2018-12-01", action_name="ListRepoTag")
    request.set_protocol_type("http")
    request.set_accept_format("XML")
    request.add_query_param("InstanceId", CR_SRC)
    request.add_query_param("RepoId", "crr-app")
    root = ET.fromstring(_client().do_action(request))
    assert (root.tag, root.findtext("IsSuccess"), root.findtext("TotalCount")) == ("ListRepoTagResponse", "true", "2")
    assert sorted(e.findtext("Tag") or "" for e in root.findall("Images")) == ["v1", "v2"]
