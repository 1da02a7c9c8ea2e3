"""Credentials per account (issue #13 step 2) through the official STS and ECS SDKs against the emulator: one
AssumeRole per role until shortly before expiry, a refresh when the service says the token expired, a role that
cannot be assumed named in the error, and no token in any log line or error text."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from emulator import Emulator
from shared.clouds._clients import reset_clients
from shared.clouds.sts import REFRESH_MARGIN_SECONDS, AccountSessions, RoleAssumeError, StsGateway, account_of
from shared.config import Credentials

HOME, PARTNER = "1234567890123456", "2222222222222222"
ROLE = f"acs:ram::{PARTNER}:role/relay-partner"
R = "cn-hangzhou"


@pytest.fixture
def world(emu: Emulator) -> Iterator[Emulator]:
    emu.control.reset()
    reset_clients()
    emu.control.seed({
        "accounts": [{"account_id": PARTNER, "access_key_id": "p-ak", "access_key_secret": "p-secret",
                      "roles": [{"name": "relay-partner", "trusted_accounts": [HOME]},
                                {"name": "closed", "trusted_accounts": []}]}],
        "images": [{"region": R, "image_id": "m-p", "owner_id": PARTNER}, {"region": R, "image_id": "m-home"}],
    })
    yield emu


def sessions(emu: Emulator, **kw: Any) -> AccountSessions:
    sts = StsGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                             endpoint=emu.url)
    return AccountSessions(sts, endpoint=emu.url, **kw)


def own_images(gateway: Any) -> list[str]:
    return sorted(i.image_id for i in gateway.iter_images(R) if i.owner_alias == "self")


def assume_calls(emu: Emulator) -> list[dict[str, Any]]:
    return [c for c in emu.control.requests() if c["action"] == "AssumeRole"]


def test_partner_gateway_acts_in_the_partner_account_and_caches_the_credentials(world: Emulator) -> None:
    s = sessions(world)
    partner = s.ecs(ROLE)
    assert own_images(partner) == ["m-p"] and own_images(partner) == ["m-p"]
    assert s.assumed == 1 and len(assume_calls(world)) == 1
    assert {c["account"] for c in world.control.requests() if c["action"] == "DescribeImages"} == {PARTNER}
    assert partner.account_id == PARTNER == account_of(ROLE)


def test_credentials_are_renewed_shortly_before_they_expire(world: Emulator) -> None:
    now = [world.control.clock()["epoch"]]
    s = sessions(world, clock=lambda: now[0])
    first = s.credentials(ROLE)
    now[0] += 3600 - REFRESH_MARGIN_SECONDS - 1
    assert s.credentials(ROLE) is first and s.assumed == 1
    now[0] += 1
    assert s.credentials(ROLE).access_key_id != first.access_key_id and s.assumed == 2


def test_a_token_the_service_calls_expired_is_refreshed_not_fatal(world: Emulator) -> None:
    s = sessions(world)  # wall clock: the cached credentials look valid to the adapter
    partner = s.ecs(ROLE)
    assert own_images(partner) == ["m-p"]
    world.control.advance(3600)  # the emulator's virtual clock passes the Expiration
    assert own_images(partner) == ["m-p"]
    assert s.assumed == 2
    expired = [c for c in world.control.requests() if c["code"] == "InvalidSecurityToken.Expired"]
    assert len(expired) == 1


@pytest.mark.parametrize(
    ("arn", "code"),
    [(f"acs:ram::{PARTNER}:role/closed", "NoPermission"), (f"acs:ram::{PARTNER}:role/absent", "EntityNotExist.Role")],
)
def test_a_role_that_cannot_be_assumed_is_named(world: Emulator, arn: str, code: str) -> None:
    s = sessions(world)
    with pytest.raises(RoleAssumeError) as info:
        own_images(s.ecs(arn))
    assert info.value.code == code
    assert str(info.value) == f"{code}: role {arn} cannot be assumed"
    assert not [c for c in world.control.requests() if c["action"] == "DescribeImages"]


def test_no_token_or_secret_in_logs_errors_or_reprs(world: Emulator, caplog: pytest.LogCaptureFixture,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    s = sessions(world)
    partner = s.ecs(ROLE)
    own_images(partner)
    world.control.advance(3600)
    own_images(partner)  # one expired-token error on the way, refreshed
    with pytest.raises(RoleAssumeError) as info:
        s.credentials(f"acs:ram::{PARTNER}:role/closed")
    creds = s.credentials(ROLE)
    held = s._cache[ROLE]
    secrets = [creds.access_key_secret, str(creds.security_token)]
    out = capsys.readouterr()
    texts = [caplog.text, out.out, out.err, str(info.value), repr(info.value), repr(held), repr(creds), str(held)]
    assert creds.security_token and len(creds.security_token) > 20
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_share_and_unshare_through_the_adapters_are_seen_by_the_partner(world: Emulator) -> None:
    from shared.clouds.ecs import EcsGateway

    home = EcsGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                              endpoint=world.url)
    partner = sessions(world).ecs(ROLE)
    home.share_image(R, "m-home", add=[PARTNER])
    home.share_image(R, "m-home", add=[PARTNER])  # repeating a share changes nothing
    assert home.image_share_accounts(R, "m-home") == [PARTNER]
    seen = partner.list_images(R, owner_alias="others")
    assert [(i.image_id, i.owner_id) for i in seen] == [("m-home", HOME)]
    home.share_image(R, "m-home", remove=[PARTNER])
    assert home.image_share_accounts(R, "m-home") == []
    assert partner.list_images(R, owner_alias="others") == []
    with pytest.raises(ValueError):
        home.share_image(R, "m-home", add=[str(10**15 + n) for n in range(11)])
