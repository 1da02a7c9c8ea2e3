"""A finished build hands its image on (issue #14), through the reconcile and export_batch handlers, the official
ECS/OSS/STS SDKs and the emulator: SUCCESS reaches the build rule's copy rules, export rules and account
targets with the build's lineage; TEST_FAILED hands nothing on and says why (record, status, alert);
PARTITION_SUCCESS retries only the template's failed regions and accounts, and shares image-relay's copy into a
failed region with the template's AddAccounts once it is Available."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from scripts import sample_world as scene
from shared.clouds.ecs_pipelines import ImageBuilderGateway
from shared.clouds.oss import OssGateway
from shared.config import Credentials

R = scene.SOURCE
BASE = "m-bp1demoweb0001"
PARTNER = "2222222222222222"
REGIONS = [R, "cn-beijing", "cn-shanghai", "ap-southeast-1"]

POLICY = """
copy_rules:
  - name: golden-copy
    source_regions: [cn-hangzhou]
    match: {name_regex: "^never"}
    target_regions: [cn-beijing, ap-southeast-1]   # Beijing plain: the template distributes there itself
    encrypt: {ap-southeast-1: key-sg-1}
export_rules:
  - name: golden-archive
    source_regions: [cn-hangzhou]
    match: {name_regex: "^never"}
    bucket: {cn-hangzhou: relay-exports-hz}
    oss_prefix: golden
build_rules:
  - name: golden
    pipeline: {region: cn-hangzhou, id: ip-gold}
    cron: "0 * * * *"
    copy_rules: [golden-copy]
    export_rules: [golden-archive]
"""


def now_of(world: Any) -> str:
    return dt.datetime.fromtimestamp(world.emu.control.clock()["epoch"], tz=dt.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def tick(world: Any) -> dict[str, Any]:
    return world.invoke("reconcile", scene.timer_event(now_of(world)))


def batch(world: Any) -> dict[str, Any]:
    return world.invoke("export_batch", scene.timer_event(now_of(world)))


def given_a_template(world: Any, outcome: str = "SUCCESS", *, failed_accounts: list[str] | None = None,
                     **extra: Any) -> None:
    """A minute past the hour, ip-gold distributing to Beijing and Shanghai, with ``outcome`` queued (a
    PARTITION_SUCCESS fails Shanghai and ``failed_accounts``)."""
    epoch = world.emu.control.clock()["epoch"]
    world.emu.control.advance(3600 - epoch % 3600 + 60)
    world.emu.control.seed({"regions": REGIONS, "image_pipelines": [
        {"region": R, "pipeline_id": "ip-gold", "name": "golden-base", "base_image": BASE, "image_name": "golden",
         "to_regions": ["cn-beijing", "cn-shanghai"], **extra}]})
    partial = {"failed_regions": ["cn-shanghai"], "failed_accounts": failed_accounts or []}
    world.emu.control.ecs_pipeline_outcome({"pipeline_id": "ip-gold", "outcome": outcome,
                                            **(partial if outcome == "PARTITION_SUCCESS" else {})})


def build_to_its_end(world: Any) -> dict[str, Any]:
    tick(world)
    world.emu.control.advance(5 * 120)
    return tick(world)["builds"]


def test_success_hands_the_image_to_copy_and_export_rules_with_its_lineage(world: Any) -> None:
    # GIVEN a build rule naming a copy rule and an export rule that would never match the image by themselves
    given_a_template(world)
    world.set_policy(POLICY)
    # WHEN the build ends SUCCESS and the copy tick and the export batch follow
    builds = build_to_its_end(world)
    [build] = world.ledger().scan("build/")
    assert build.state.value == "DONE" and builds["outcomes"]["handed_off"] == 2
    assert build.data["handed_on"]["copies"] == ["ap-southeast-1"]
    assert build.data["handed_on"]["exports"] == [f"export/{R}/{build.data['image_id']}/raw"]
    for _ in range(10):
        tick(world)
        batch(world)
        records = [*world.ledger().scan("copy/"), *world.ledger().scan("export/")]
        if records and all(r.state.value == "DONE" for r in records):
            break
        world.emu.control.advance(600)
    # THEN one encrypted copy in Singapore and one export, each carrying the build's lineage
    [copy] = world.copies_in("ap-southeast-1")
    assert copy.tags["image-relay:pipeline"] == "ip-gold"
    assert copy.tags["image-relay:execution"] == build.cloud_id
    assert copy.tags["image-relay:source-image"] == build.data["image_id"]
    assert len(world.calls("CopyImage", 200)) == 1 and world.calls("CopyImage", 200)[0]["params"]["Encrypted"]
    [export] = world.ledger().scan("export/")
    assert export.state.value == "DONE" and len(world.calls("ExportImage", 200)) == 1
    oss = OssGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                             endpoint=world.emu.url)
    manifest = json.loads(oss.get(R, scene.EXPORT_BUCKET, export.data["manifest"]))
    assert manifest["lineage"] == {"image-relay:pipeline": "ip-gold", "image-relay:execution": build.cloud_id}
    assert manifest["image_id"] == build.data["image_id"]


def test_success_hands_the_image_to_the_named_account_target(world: Any) -> None:
    from tests.accounts.test_account_flow import seed_partner

    # GIVEN a build rule naming a partner account whose target is defined on a copy rule
    given_a_template(world)
    seed_partner(world)
    world.set_policy(POLICY.replace("export_rules: [golden-archive]", f'accounts: ["{PARTNER}"]').replace(
        "export_rules:\n", f"""  - name: partners
    source_regions: [cn-hangzhou]
    match: {{name_regex: "^never"}}
    target_regions: [cn-beijing]
    accounts:
      - {{account_id: "{PARTNER}", role_arn: "acs:ram::{PARTNER}:role/relay-partner", mode: share}}
export_rules:
""", 1))
    # WHEN the build ends SUCCESS and the account tick follows
    build_to_its_end(world)
    [build] = world.ledger().scan("build/")
    assert build.data["handed_on"]["accounts"] == [PARTNER]
    for _ in range(5):
        tick(world)
        world.emu.control.advance(60)
    # THEN the built image is shared with the partner (mode share), recorded once with the build's lineage
    [share] = world.ledger().scan("xshare/")
    assert share.state.value == "DONE"
    assert share.data["hop"]["lineage"] == {"image-relay:pipeline": "ip-gold",
                                            "image-relay:execution": build.cloud_id}
    assert world.ecs().image_share_accounts(R, build.data["image_id"]) == [PARTNER]


def test_test_failed_distributes_nothing_and_says_why(world: Any) -> None:
    # GIVEN a build whose test fails, and an alerts sink
    given_a_template(world, "TEST_FAILED")
    world.emu.control.seed({"event_buses": [{"region": R, "name": "relay-alerts"}]})
    world.set_policy(POLICY + "alerts:\n  eventbridge: {bus: relay-alerts, region: cn-hangzhou}\n")
    # WHEN it ends and later ticks run
    build_to_its_end(world)
    tick(world)
    batch(world)
    [build] = world.ledger().scan("build/")
    # THEN nothing is handed on, and the record, status and the alert say why
    assert (build.state.value, build.data["stage"], build.data["distribute"]) == ("DONE", "TEST_FAILED", False)
    assert build.reason is not None and "distribute_test_failed is false: nothing handed on" in build.reason
    assert "Run the test content failed." in build.reason
    assert list(world.ledger().scan("copy/")) == [] and list(world.ledger().scan("export/")) == []
    assert world.calls("CopyImage") == [] and world.calls("ExportImage") == []
    from scripts.status import build_rows

    [row] = build_rows(world.ledger(), dt.datetime.now(dt.timezone.utc))
    assert (row["stage"], row["state"], row["withheld"]) == ("TEST_FAILED", "done", True)
    assert row["detail"] == "withheld: TEST_FAILED, nothing handed on" and row["reason"] == build.reason
    [alert] = [e["event"] for e in world.emu.control.eventbridge_events()
               if e["event"]["Type"] == "image-relay:Build:Withheld"]
    assert alert["Subject"] == build.key
    assert alert["Data"]["reason"] == build.reason and alert["Data"]["execution_id"] == build.cloud_id


def test_partition_success_retries_only_the_failed_regions(world: Any) -> None:
    # GIVEN a template distributing to Beijing and Shanghai and sharing with two accounts; Shanghai and
    # one account fail
    given_a_template(world, "PARTITION_SUCCESS", failed_accounts=["4444444444444444"],
                     add_accounts=["3333333333333333", "4444444444444444"])
    world.set_policy(POLICY.replace("    export_rules: [golden-archive]\n", ""))
    # WHEN the build ends PARTITION_SUCCESS and the copy tick follows
    builds = build_to_its_end(world)
    [build] = world.ledger().scan("build/")
    assert build.data["stage"] == "PARTITION_SUCCESS" and build.state.value == "DONE"
    assert build.data["handed_on"]["retried_regions"] == ["cn-shanghai"]
    assert builds["outcomes"]["distribution_retried"] == 1
    for _ in range(10):
        tick(world)
        copies = list(world.ledger().scan("copy/"))
        if copies and all(c.state.value == "DONE" for c in copies):
            break
        world.emu.control.advance(300)
    # THEN image-relay copied into Shanghai only (plus the rule's Singapore copy), never into Beijing
    targets = sorted(c.data["target"]["target_region"] for c in world.ledger().scan("copy/"))
    assert targets == ["ap-southeast-1", "cn-shanghai"]
    assert sorted(c["params"]["DestinationRegionId"] for c in world.calls("CopyImage", 200)) == targets
    [retried] = world.copies_in("cn-shanghai")
    assert retried.name == f"golden_{build.cloud_id}"  # named as the template's own distribution names it
    assert retried.tags["image-relay:execution"] == build.cloud_id
    # and it shared again, with the failed account only, the built image and the template's copy in Beijing
    # (Image Builder shares both), one call each; its own Shanghai copy with both AddAccounts, in one call
    [beijing] = [i for i in world.ecs().list_images("cn-beijing", name=retried.name) if i.name == retried.name]
    shares = sorted((c["params"]["RegionId"], c["params"]["ImageId"], c["params"]["AddAccount.1"],
                     c["params"].get("AddAccount.2")) for c in world.calls("ModifyImageSharePermission", 200))
    assert shares == sorted([(R, build.data["image_id"], "4444444444444444", None),
                             ("cn-beijing", beijing.image_id, "4444444444444444", None),
                             ("cn-shanghai", retried.image_id, "3333333333333333", "4444444444444444")])
    for region, image_id in ((R, build.data["image_id"]), ("cn-beijing", beijing.image_id)):
        assert sorted(world.ecs().image_share_accounts(region, image_id)) == ["3333333333333333", "4444444444444444"]
    assert build.data["handed_on"]["retried_accounts"] == ["4444444444444444"]
    assert build.data["handed_on"]["shared_again"] == [f"cn-beijing/{beijing.image_id}", f"{R}/{build.data['image_id']}"]


def test_partition_success_shares_again_only_the_images_that_miss_an_account(world: Any) -> None:
    # GIVEN a PARTITION_SUCCESS whose share with one account failed, and the template's copy in Beijing that
    # someone shared with that account meanwhile
    given_a_template(world, "PARTITION_SUCCESS", failed_accounts=["4444444444444444"],
                     add_accounts=["3333333333333333", "4444444444444444"])
    world.set_policy(POLICY.replace("    export_rules: [golden-archive]\n", ""))
    tick(world)
    world.emu.control.advance(5 * 120)
    builder = ImageBuilderGateway.connect(Credentials(access_key_id="test-ak", access_key_secret="test-secret"),
                                          endpoint=world.emu.url)
    assert isinstance(builder, ImageBuilderGateway)
    [task] = builder.describe_pipeline_executions(R, pipeline_id="ip-gold")
    assert task.status == "PARTITION_SUCCESS"
    name = f"golden_{task.execution_id}"
    [beijing] = [i for i in world.ecs().list_images("cn-beijing", name=name) if i.name == name]
    world.ecs().share_image("cn-beijing", beijing.image_id, add=["4444444444444444"])
    before = len(world.calls("ModifyImageSharePermission", 200))
    # WHEN the tick records the end
    tick(world)
    # THEN only the built image is shared again, and only with the failed account
    shares = [c["params"] for c in world.calls("ModifyImageSharePermission", 200)[before:]]
    assert [(p["RegionId"], p["ImageId"], p["AddAccount.1"], "AddAccount.2" in p) for p in shares] == [
        (R, task.image_id, "4444444444444444", False)]
    [build] = world.ledger().scan("build/")
    assert build.data["handed_on"]["shared_again"] == [f"{R}/{task.image_id}"]


#: The build rule hands the image to no copy of its own: the only copy is image-relay's retry into Shanghai.
NO_RULE_COPY = (POLICY.replace("    export_rules: [golden-archive]\n", "").replace(", ap-southeast-1]", "]")
                .replace("    encrypt: {ap-southeast-1: key-sg-1}\n", ""))


def copies_settle(world: Any) -> list[Any]:
    """Tick until every copy record is DONE (or ten ticks passed); the copy records."""
    for _ in range(10):
        tick(world)
        copies = list(world.ledger().scan("copy/"))
        if copies and all(c.state.value == "DONE" for c in copies):
            return copies
        world.emu.control.advance(300)
    return list(world.ledger().scan("copy/"))


def test_partition_success_shares_the_retried_copy_with_exactly_the_templates_accounts(world: Any) -> None:
    # GIVEN a template sharing with two accounts whose distribution to Shanghai failed (its shares did not)
    accounts = ["3333333333333333", "4444444444444444"]
    given_a_template(world, "PARTITION_SUCCESS", add_accounts=accounts)
    world.set_policy(POLICY.replace("    export_rules: [golden-archive]\n", ""))
    # WHEN the build ends and image-relay's retried copy into Shanghai becomes Available
    build_to_its_end(world)
    copies = {c.data["target"]["target_region"]: c for c in copies_settle(world)}
    assert {r: c.state.value for r, c in copies.items()} == {"ap-southeast-1": "DONE", "cn-shanghai": "DONE"}
    # THEN DescribeImageSharePermission on that copy lists exactly the template's AddAccounts, as it would for
    # Image Builder's own copy
    retried = copies["cn-shanghai"]
    assert retried.data["target"]["share_accounts"] == accounts
    assert sorted(world.ecs().image_share_accounts("cn-shanghai", retried.cloud_id)) == accounts
    # and the rule's copy into Singapore (a target without share_accounts) was never shared: no call names it
    shared = [(c["params"]["RegionId"], c["params"]["ImageId"]) for c in world.calls("ModifyImageSharePermission")]
    assert shared == [("cn-shanghai", retried.cloud_id)]
    assert world.ecs().image_share_accounts("ap-southeast-1", copies["ap-southeast-1"].cloud_id) == []


def test_a_lost_share_answer_and_a_duplicated_tick_share_nothing_twice_and_do_not_fail(world: Any) -> None:
    # GIVEN the retried Shanghai copy of a PARTITION_SUCCESS build, whose first share's answer is lost (ECS
    # applied it: a crash between the share and the DONE write looks the same)
    accounts = ["3333333333333333", "4444444444444444"]
    given_a_template(world, "PARTITION_SUCCESS", add_accounts=accounts)
    world.set_policy(NO_RULE_COPY)
    build_to_its_end(world)
    tick(world)  # the copy starts
    world.emu.control.advance(600)
    world.emu.control.set_faults(lost_response_rate=1.0, actions=["ModifyImageSharePermission"])
    tick(world)
    # THEN the record stays STARTED (not failed) for the next tick
    [copy] = world.ledger().scan("copy/")
    assert copy.state.value == "STARTED" and copy.cloud_id
    lost = len(world.calls("ModifyImageSharePermission"))
    assert lost >= 1
    assert sorted(world.ecs().image_share_accounts("cn-shanghai", copy.cloud_id)) == accounts
    # WHEN the answers come back and the tick runs again, twice (a duplicated timer tick)
    world.emu.control.set_faults()
    tick(world)
    tick(world)
    # THEN the share is repeated once, changes nothing, and the record is DONE; the duplicate shares nothing
    [copy] = world.ledger().scan("copy/")
    assert copy.state.value == "DONE" and copy.reason is None
    assert len(world.calls("ModifyImageSharePermission")) == lost + 1
    assert sorted(world.ecs().image_share_accounts("cn-shanghai", copy.cloud_id)) == accounts


def test_a_refused_share_fails_the_copy_with_ecs_code(world: Any) -> None:
    # GIVEN a retried copy whose template names an account id ECS refuses
    given_a_template(world, "PARTITION_SUCCESS", add_accounts=["3333333333333333"])
    world.set_policy(NO_RULE_COPY)
    build_to_its_end(world)
    [pending] = world.ledger().scan("copy/")
    target = {**pending.data["target"], "share_accounts": ["3333333333333333", "not-an-account"]}
    world.ledger().transition(pending.key, pending, data={**pending.data, "target": target})
    # WHEN the copy becomes Available
    copies_settle(world)
    # THEN the record is FAILED, final, with ECS's code and what it tried, and the copy stays for a person
    [copy] = world.ledger().scan("copy/")
    assert copy.state.value == "FAILED" and not copy.retryable
    assert copy.reason.startswith(f"sharing copy {copy.cloud_id} with 3333333333333333, not-an-account refused "
                                  "[InvalidAccount.Malformed]")
    assert [c["status"] for c in world.calls("ModifyImageSharePermission")] == [400]
    assert world.ecs().get_image("cn-shanghai", copy.cloud_id).status == "Available"
