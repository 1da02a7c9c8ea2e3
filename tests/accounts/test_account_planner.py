"""The account-target planner (issue #13), pure: records and observations in, steps out."""
from __future__ import annotations

from typing import Any, Literal

from shared.accounts.hops import Hop, new_record
from shared.accounts.plan import CloseShare, Complete, Fail, Heal, Share, StartCopy, plan_target
from shared.clouds.ecs_types import Image
from shared.ledger.record import Record, State, utcnow

SRC, IMG, ACC = "cn-hangzhou", "m-src", "2222222222222222"
ROLE = f"acs:ram::{ACC}:role/r"


def hop(kind: Literal["share", "copy"], region: str = "", **kw: Any) -> Hop:
    return Hop(kind=kind, rule="web", account_id=ACC, role_arn=ROLE, source_region=SRC, image_id=IMG, name="app",
               region=region, **kw)


def rec(h: Hop, state: State = State.PENDING, **kw: Any) -> Record:
    base = new_record(h, utcnow())
    data = {**base.data, **kw.pop("data", {})}
    return base.model_copy(update={"state": state, "data": data, "version": 3, **kw})


SOURCE = Image(region=SRC, image_id=IMG, status="Available")


def test_the_share_comes_first_and_only_for_an_available_source() -> None:
    share, first, onward = rec(hop("share")), rec(hop("copy", SRC)), rec(hop("copy", "cn-beijing"))
    assert plan_target(share, [first, onward], SOURCE, {}) == [Share(share.key)]
    assert plan_target(share, [first, onward], SOURCE.model_copy(update={"status": "Creating"}), {}) == []
    assert plan_target(share, [first], None, {}) == []


def test_the_first_copy_reads_the_shared_image_and_the_others_wait_for_it() -> None:
    share = rec(hop("share"), State.STARTED, data={"shared": True})
    first, onward = rec(hop("copy", SRC)), rec(hop("copy", "cn-beijing"))
    assert plan_target(share, [first, onward], None, {}) == [StartCopy(first.key, from_image=IMG)]


def test_after_the_first_copy_the_others_start_from_it_and_the_share_closes() -> None:
    share = rec(hop("share"), State.STARTED, data={"shared": True})
    first = rec(hop("copy", SRC), State.DONE, cloud_id="m-partner-1")
    onward = rec(hop("copy", "cn-beijing"))
    assert plan_target(share, [first, onward], None, {}) == [
        StartCopy(onward.key, from_image="m-partner-1"), CloseShare(share.key, unshare=True)]
    kept = rec(hop("share", keep_shared=True), State.STARTED, data={"shared": True})
    assert plan_target(kept, [first, onward], None, {})[-1] == CloseShare(kept.key, unshare=False)


def test_a_failed_first_copy_fails_the_others_and_still_unshares_even_when_kept() -> None:
    share = rec(hop("share", keep_shared=True), State.STARTED, data={"shared": True})
    first = rec(hop("copy", SRC), State.FAILED, reason="partner lacks KMS key k in region cn-hangzhou")
    onward = rec(hop("copy", "cn-beijing"))
    steps = plan_target(share, [first, onward], None, {})
    assert steps == [Fail(onward.key, "the partner's first copy did not succeed: partner lacks KMS key k in "
                                      "region cn-hangzhou"), CloseShare(share.key, unshare=True)]


def test_a_failed_share_fails_every_open_hop_with_its_reason() -> None:
    share = rec(hop("share"), State.FAILED, reason="role X cannot be assumed (NoPermission)")
    first, done = rec(hop("copy", SRC)), rec(hop("copy", "cn-beijing"), State.DONE)
    assert plan_target(share, [first, done], None, {}) == [Fail(first.key, "role X cannot be assumed (NoPermission)")]


def test_running_copies_follow_the_partner_image_and_a_lost_id_is_healed() -> None:
    share = rec(hop("share"), State.DONE, data={"shared": False})
    first = rec(hop("copy", SRC), State.DONE, cloud_id="m-p1")
    running = rec(hop("copy", "cn-beijing"), State.STARTED, cloud_id="m-p2")
    lost = rec(hop("copy", "ap-southeast-1"), State.STARTED)
    available = Image(region="cn-beijing", image_id="m-p2", status="Available")
    assert plan_target(share, [first, running, lost], None, {running.key: available}) == [
        Complete(running.key, image_id="m-p2"), Heal(lost.key)]
    assert plan_target(share, [first, running], None, {running.key: None})[0].reason.endswith("is gone")  # type: ignore[attr-defined]
    assert plan_target(share, [first, running], None, {}) == []


def test_share_mode_keeps_the_share_as_the_delivery() -> None:
    share = rec(hop("share", mode="share"), State.STARTED, data={"shared": True})
    assert plan_target(share, [], None, {}) == [CloseShare(share.key, unshare=False)]


def test_a_copy_target_whose_copies_are_not_recorded_yet_is_neither_shared_nor_closed() -> None:
    """Found by the chaos suite (seed 224494942788389): an invocation died between writing the share and its
    copies; a tick closed the share "kept" (no first copy to wait for) and the copies recorded later never ran."""
    assert plan_target(rec(hop("share")), [], SOURCE, {}) == []
    assert plan_target(rec(hop("share"), State.STARTED, data={"shared": True}), [], None, {}) == []
    shared_only = rec(hop("share", mode="share"), State.STARTED, data={"shared": True})
    assert plan_target(shared_only, [], None, {}) == [CloseShare(shared_only.key, unshare=False)]


def test_the_share_record_is_written_after_its_copies() -> None:
    from shared.accounts.service import record_account_intents
    from shared.ledger import Ledger, open_store
    from shared.policy import load_policy

    policy = load_policy(f"""\
copy_rules:
  - name: web
    source_regions: [{SRC}]
    target_regions: [cn-beijing]
    accounts: [{{account_id: "{ACC}", role_arn: "{ROLE}", target_regions: [cn-beijing]}}]
""")
    views = record_account_intents(Ledger(open_store("memory://")), policy, SOURCE, utcnow())
    assert [v["hop"] for v in views] == ["copy", "copy", "share"]
