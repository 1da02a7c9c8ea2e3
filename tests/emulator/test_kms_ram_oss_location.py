"""KMS DescribeKey, RAM GetRole/ListPoliciesForRole/GetPolicy and OSS GetBucketLocation through the REAL SDKs."""
from __future__ import annotations

import json

import oss2
import pytest
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_kms20160120.client import Client as KmsClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi import models as open_api_models

from emulator import Emulator, EmulatorControl

from .helpers import raises_code


def _config(emulator: Emulator, host: str, region: str = "cn-hangzhou") -> open_api_models.Config:
    proxy = emulator.url.split("://", 1)[1]
    return open_api_models.Config(access_key_id="test-ak", access_key_secret="test-secret", region_id=region,
                                  endpoint=host, protocol="http", http_proxy=f"http://{proxy}")


@pytest.fixture
def kms(emulator: Emulator, control: EmulatorControl) -> KmsClient:
    control.seed({"kms_keys": [{"region": "cn-beijing", "key_id": "key-bj-1"},
                               {"region": "cn-beijing", "key_id": "key-bj-off"}],
                  "kms_key_states": [{"region": "cn-beijing", "key_id": "key-bj-off", "state": "Disabled"}]})
    return KmsClient(_config(emulator, "kms.cn-beijing.aliyuncs.com", "cn-beijing"))


def test_describe_key_answers_its_state(kms: KmsClient) -> None:
    meta = kms.describe_key(kms_models.DescribeKeyRequest(key_id="key-bj-1")).body.key_metadata
    assert (meta.key_id, meta.key_state) == ("key-bj-1", "Enabled") and meta.arn.startswith("acs:kms:cn-beijing:")
    assert kms.describe_key(kms_models.DescribeKeyRequest(key_id="key-bj-off")).body.key_metadata.key_state == "Disabled"


def test_a_key_of_another_region_is_not_found(kms: KmsClient, emulator: Emulator) -> None:
    with raises_code("Forbidden.KeyNotFound", 404):
        KmsClient(_config(emulator, "kms.cn-hangzhou.aliyuncs.com")).describe_key(
            kms_models.DescribeKeyRequest(key_id="key-bj-1"))


@pytest.fixture
def ram(emulator: Emulator, control: EmulatorControl) -> RamClient:
    control.seed({"ram_roles": [{"name": "fc-role", "policies": [
        {"name": "adapters", "document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:*"}]}}]}]})
    return RamClient(_config(emulator, "ram.aliyuncs.com"))


def test_role_and_policies(ram: RamClient) -> None:
    role = ram.get_role(ram_models.GetRoleRequest(role_name="fc-role")).body.role
    assert role.role_name == "fc-role" and role.arn.endswith(":role/fc-role")
    policies = ram.list_policies_for_role(ram_models.ListPoliciesForRoleRequest(role_name="fc-role")).body
    assert [(p.policy_name, p.policy_type) for p in policies.policies.policy] == [("adapters", "Custom")]
    version = ram.get_policy(ram_models.GetPolicyRequest(policy_name="adapters", policy_type="Custom")).body
    assert json.loads(version.default_policy_version.policy_document)["Statement"][0]["Action"] == "ecs:*"


def test_a_missing_role_or_policy_is_entity_not_exist(ram: RamClient) -> None:
    with raises_code("EntityNotExist.Role", 404):
        ram.get_role(ram_models.GetRoleRequest(role_name="nope"))
    with raises_code("EntityNotExist.Policy", 404):
        ram.get_policy(ram_models.GetPolicyRequest(policy_name="nope", policy_type="Custom"))


def test_get_bucket_location(emulator: Emulator, control: EmulatorControl) -> None:
    control.seed({"buckets": [{"region": "cn-beijing", "name": "relay-bj"}]})
    auth = oss2.AuthV4("test-ak", "test-secret")
    bucket = oss2.Bucket(auth, emulator.url, "relay-bj", region="cn-hangzhou", is_path_style=True)
    assert bucket.get_bucket_location().location == "oss-cn-beijing"
    missing = oss2.Bucket(auth, emulator.url, "relay-none", region="cn-hangzhou", is_path_style=True)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.get_bucket_location()
