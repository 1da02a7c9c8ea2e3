"""Multi-account emulator through the real SDKs: STS AssumeRole (alibabacloud_sts20150401), requests attributed
to accounts by their credentials, image sharing seen from the partner, the same-region rule for shared images,
partner KMS keys, expiry on the virtual clock, and the seed's ``accounts`` key."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as open_api_models

from emulator import Emulator, EmulatorControl, EmulatorControlError

from .conftest import ClientFactory
from .helpers import image, raises_code

HOME, PARTNER, OTHER = "1234567890123456", "2222222222222222", "3333333333333333"
ROLE = f"acs:ram::{PARTNER}:role/relay-partner"
R, R2 = "cn-hangzhou", "cn-shanghai"


def seed(**extra: Any) -> dict[str, Any]:
    """A partner account (pair p-ak/p-secret) with a role trusting HOME and a KMS key in each region; a third
    account with a role nobody trusts."""
    return {
        "accounts": [
            {"account_id": PARTNER, "access_key_id": "p-ak", "access_key_secret": "p-secret",
             "roles": [{"name": "relay-partner", "trusted_accounts": [HOME]}],
             "kms_keys": [{"region": R, "key_id": "key-p-hz"}, {"region": R2, "key_id": "key-p-sh"}]},
            {"account_id": OTHER, "access_key_id": "o-ak", "access_key_secret": "o-secret",
             "roles": [{"name": "closed", "trusted_accounts": []}]},
        ],
        **extra,
    }


@pytest.fixture
def sts(emulator: Emulator) -> StsClient:
    """The official STS client, signed with the home pair."""
    return StsClient(open_api_models.Config(access_key_id="test-ak", access_key_secret="test-secret",
                                            endpoint=emulator.endpoint, protocol="http", region_id=R))


def assume(sts: StsClient, arn: str = ROLE, duration: int | None = None) -> Any:
    req = sts_models.AssumeRoleRequest(role_arn=arn, role_session_name="image-relay", duration_seconds=duration)
    return sts.assume_role(req).body


def partner_client(make_client: ClientFactory, creds: Any, v1: bool = False) -> Client:
    return make_client(ak=creds.access_key_id, secret=creds.access_key_secret, token=creds.security_token, v1=v1)


def ids(client: Client, region: str = R, **kw: Any) -> list[str]:
    body = client.describe_images(m.DescribeImagesRequest(region_id=region, status="ALL", page_size=100, **kw)).body
    return sorted(i.image_id for i in body.images.image)


def copy(client: Client, image_id: str, dest: str, **kw: Any) -> str:
    req = m.CopyImageRequest(region_id=R, image_id=image_id, destination_region_id=dest, **kw)
    return str(client.copy_image(req).body.image_id)


def share(client: Client, image_id: str, add: list[str] | None = None, remove: list[str] | None = None) -> None:
    client.modify_image_share_permission(
        m.ModifyImageSharePermissionRequest(region_id=R, image_id=image_id, add_account=add, remove_account=remove))


def test_assume_role_returns_temporary_credentials_of_the_role_account(
    sts: StsClient, control: EmulatorControl, emulator: Emulator, make_client: ClientFactory
) -> None:
    control.seed(seed())
    now = control.clock()["epoch"]
    body = assume(sts, duration=900)
    creds = body.credentials
    assert creds.access_key_id.startswith("STS.") and creds.security_token and creds.access_key_secret
    assert creds.expiration == _iso(now + 900)
    assert body.assumed_role_user.arn == f"acs:ram::{PARTNER}:assumed-role/relay-partner/image-relay"
    assert body.assumed_role_user.assumed_role_id.endswith(":image-relay")
    as_partner = StsClient(open_api_models.Config(
        access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret,
        security_token=creds.security_token, endpoint=emulator.endpoint, protocol="http", region_id=R))
    who = as_partner.get_caller_identity().body
    assert (who.account_id, who.identity_type) == (PARTNER, "AssumedRoleUser")
    assert sts.get_caller_identity().body.account_id == HOME
    log = [e for e in control.requests() if e["action"] == "GetCallerIdentity"]
    assert [e["account"] for e in log] == [PARTNER, HOME]


def _iso(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_assume_role_errors(sts: StsClient, control: EmulatorControl) -> None:
    control.seed(seed())
    with raises_code("EntityNotExist.Role", 404):
        assume(sts, f"acs:ram::{PARTNER}:role/absent")
    with raises_code("EntityNotExist.Role", 404):
        assume(sts, "acs:ram::4444444444444444:role/relay-partner")
    with raises_code("NoPermission", 403):
        assume(sts, f"acs:ram::{OTHER}:role/closed")
    with raises_code("InvalidParameter.RoleArn", 400):
        assume(sts, "acs:ram::123:role/x")
    with raises_code("InvalidParameter.DurationSeconds", 400):
        assume(sts, duration=899)
    with raises_code("InvalidParameter.DurationSeconds", 400):
        assume(sts, duration=3601)
    with raises_code("InvalidParameter.RoleSessionName", 400):
        sts.assume_role(sts_models.AssumeRoleRequest(role_arn=ROLE, role_session_name="a b"))


def test_partner_pair_acts_as_partner_and_trust_is_per_caller(
    make_client: ClientFactory, control: EmulatorControl, emulator: Emulator
) -> None:
    control.seed(seed(images=[image("m-home"), image("m-p", owner_id=PARTNER)]))
    partner = make_client(ak="p-ak", secret="p-secret")
    assert ids(partner, image_owner_alias="self") == ["m-p"]
    assert ids(make_client(), image_owner_alias="self") == ["m-home"]
    as_partner = StsClient(open_api_models.Config(access_key_id="p-ak", access_key_secret="p-secret",
                                                  endpoint=emulator.endpoint, protocol="http", region_id=R))
    with raises_code("NoPermission", 403):  # the role trusts HOME, not its own account
        assume(as_partner)


@pytest.mark.parametrize("v1", [False, True])
def test_expired_missing_and_mismatched_tokens(
    v1: bool, sts: StsClient, make_client: ClientFactory, control: EmulatorControl
) -> None:
    control.seed(seed())
    creds = assume(sts, duration=900).credentials
    client = partner_client(make_client, creds, v1=v1)
    assert ids(client) == []
    with raises_code("MissingSecurityToken", 400):
        ids(make_client(ak=creds.access_key_id, secret=creds.access_key_secret, v1=v1))
    with raises_code("InvalidSecurityToken.MismatchWithAccessKey", 400):
        ids(make_client(ak=creds.access_key_id, secret=creds.access_key_secret, token="CAISforged", v1=v1))
    control.advance(899)
    assert ids(client) == []
    control.advance(1)
    with raises_code("InvalidSecurityToken.Expired", 400):
        ids(client)
    fresh = assume(sts).credentials
    assert ids(partner_client(make_client, fresh, v1=v1)) == []


def test_shared_image_seen_by_partner_only_while_shared(
    ecs: Client, sts: StsClient, make_client: ClientFactory, control: EmulatorControl
) -> None:
    control.seed(seed(images=[image("m-1"), image("m-2")]))
    partner = partner_client(make_client, assume(sts).credentials)
    assert ids(partner, image_owner_alias="others") == [] and ids(partner, image_id="m-1") == []
    with raises_code("InvalidImageId.NotFound", 404):
        partner.describe_image_share_permission(m.DescribeImageSharePermissionRequest(region_id=R, image_id="m-1"))
    share(ecs, "m-1", add=[PARTNER])
    assert ids(partner, image_owner_alias="others") == ["m-1"] and ids(partner, image_owner_alias="self") == []
    seen = partner.describe_images(m.DescribeImagesRequest(region_id=R, image_id="m-1")).body.images.image[0]
    assert (seen.image_owner_alias, seen.image_owner_id, seen.is_self_shared) == ("others", int(HOME), "")
    mine = ecs.describe_images(m.DescribeImagesRequest(region_id=R, image_id="m-1")).body.images.image[0]
    assert (mine.image_owner_alias, mine.is_self_shared) == ("self", "True")
    with raises_code("Forbidden", 403):
        share(partner, "m-1", remove=[PARTNER])
    share(ecs, "m-1", remove=[PARTNER])
    assert ids(partner, image_owner_alias="others") == []


def test_shared_image_copies_only_within_its_region_with_partner_keys(
    ecs: Client, sts: StsClient, make_client: ClientFactory, control: EmulatorControl
) -> None:
    control.seed(seed(images=[image("m-1", size_gib=20)], kms_keys=[{"region": R, "key_id": "key-home"}]))
    share(ecs, "m-1", add=[PARTNER])
    partner = partner_client(make_client, assume(sts).credentials)
    with raises_code("OperationDenied.SameRegionOnly", 403):
        copy(partner, "m-1", R2)
    with raises_code("IncorrectDestinationRegion", 403):
        copy(partner, "m-1", R)
    with raises_code("InvalidParameter.KMSKeyId.NotFound", 404):  # the home account's key is not the partner's
        copy(partner, "m-1", R, encrypted=True, kmskey_id="key-home")
    own = copy(partner, "m-1", R, encrypted=True, kmskey_id="key-p-hz")
    assert ids(partner, image_owner_alias="self") == [own] and own not in ids(ecs)
    # unsharing while the partner's copy reads the image is allowed and the copy completes (UNCONFIRMED);
    # the source cannot be deleted while that copy runs
    share(ecs, "m-1", remove=[PARTNER])
    with raises_code("OperationDenied.ImageCopying", 403):
        ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1"))
    control.advance(120)  # 20 GiB at 20 GiB/min; the one-hour session is still valid
    done = partner.describe_images(m.DescribeImagesRequest(region_id=R, image_id=own)).body.images.image[0]
    assert (done.status, done.image_owner_id, done.is_copied) == ("Available", int(PARTNER), True)
    assert done.disk_device_mappings.disk_device_mapping[0].encrypted in (True, "true")
    onward = copy(partner, own, R2, encrypted=True, kmskey_id="key-p-sh")  # its own image now: cross-region ok
    assert onward in ids(partner, region=R2, image_owner_alias="self")
    ecs.delete_image(m.DeleteImageRequest(region_id=R, image_id="m-1"))


def test_partner_calls_are_logged_as_the_partner_and_publish_no_home_event(
    ecs: Client, sts: StsClient, make_client: ClientFactory, control: EmulatorControl, emulator: Emulator
) -> None:
    control.seed(seed(images=[image("m-1")]))
    share(ecs, "m-1", add=[PARTNER])
    partner = partner_client(make_client, assume(sts).credentials)
    events: list[dict[str, Any]] = []
    emulator.state.listeners.append(events.append)
    try:
        copy(partner, "m-1", R, encrypted=True)
        copy(ecs, "m-1", R2)
    finally:
        emulator.state.listeners.remove(events.append)
    copies = [e for e in control.requests() if e["action"] == "CopyImage"]
    assert [(e["account"], e["status"]) for e in copies] == [(PARTNER, 200), (HOME, 200)]
    assert [e["data"]["eventName"] for e in events] == ["CopyImage"]
    assert all(e["aliyunaccountid"] == HOME for e in events)


@pytest.mark.parametrize(
    ("account", "loc"),
    [
        ({"account_id": "12345", "access_key_id": "x", "access_key_secret": "y"}, "accounts.0.account_id"),
        ({"account_id": PARTNER, "access_key_id": "test-ak", "access_key_secret": "y"}, "accounts.0.access_key_id"),
        ({"account_id": PARTNER, "access_key_id": "x", "access_key_secret": "y",
          "kms_keys": [{"region": "xx-nowhere-1", "key_id": "k"}]}, "accounts.0.kms_keys.0.region"),
        ({"account_id": PARTNER, "access_key_id": "x", "access_key_secret": "y",
          "roles": [{"name": "r", "trusted_accounts": ["1"]}]}, "accounts.0.roles.0"),
    ],
)
def test_bad_account_seed_names_the_field_and_changes_nothing(
    account: dict[str, Any], loc: str, control: EmulatorControl, make_client: ClientFactory
) -> None:
    with pytest.raises(EmulatorControlError) as info:
        control.seed({"accounts": [account], "images": [image("m-x")]})
    assert info.value.status == 400 and info.value.body["Code"] == "InvalidSeed"
    assert info.value.body["Errors"][0]["loc"].startswith(loc)
    assert ids(make_client()) == []
