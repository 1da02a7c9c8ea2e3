"""The pure cleanup planner: every rule, every reason, retention order, blast radius."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from shared.cleanup.model import CleanupPlan, Decision, ImageFacts, InFlight, Inventory
from shared.cleanup.planner import build_plan, check_limits, plan_cleanup
from shared.clouds.ecs_types import Image
from shared.errors import ConfigError, PlanLimitExceededError
from shared.ledger.record import Record, State
from shared.policy import load_policy
from shared.policy.cleanup import CleanupPolicy, Retention, TemplateScratch
from shared.replication.provenance import provenance_tags

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
HZ, BJ = "cn-hangzhou", "cn-beijing"
DELETED = "TemplateScratch image older than 24h, unused, not shared, not being copied"
POLICY = CleanupPolicy(template_scratch=TemplateScratch(min_age_hours=24), retention=Retention(keep_newest=2,
                       grace_days=7), max_deletions=100, max_share=1.0)


def scratch(image_id: str = "m-1", *, hours: float = 48, region: str = HZ, **facts: Any) -> ImageFacts:
    image_fields = {k: facts.pop(k) for k in ("status", "owner_alias", "usage") if k in facts}
    created = None if hours < 0 else NOW - dt.timedelta(hours=hours)
    image = Image(region=region, image_id=image_id, name=f"TemplateScratch-{image_id}", creation_time=created,
                  **image_fields)
    return ImageFacts(image=image, **facts)


def copy(image_id: str, name: str, *, days: float, rule: str = "web", family: str | None = "app",
         **image_fields: Any) -> ImageFacts:
    """A managed copy in BJ of its own source image in HZ, whose ImageFamily is `family` (None: unreadable)."""
    source = f"m-src-{image_id}"
    tags = provenance_tags(f"copy/{HZ}/{source}/{BJ}", HZ, source, rule)
    return ImageFacts(Image(region=BJ, image_id=image_id, name=name, tags=tags,
                            creation_time=NOW - dt.timedelta(days=days), **image_fields), source_family=family)


def plan(*facts: ImageFacts, policy: CleanupPolicy = POLICY, in_flight: InFlight | None = None,
         exports: tuple[tuple[str, str, str], ...] = ()) -> CleanupPlan:
    inventory = Inventory(regions=(HZ, BJ), images=facts, running_exports=exports)
    return build_plan(policy, inventory, in_flight or InFlight(), NOW, rules={"web"})


def reasons(result: CleanupPlan) -> dict[str, tuple[str, str]]:
    return {d.image_id: (d.action, d.reason) for d in result.decisions}


# -- template_scratch -------------------------------------------------------------------------------


def test_an_old_unused_unshared_scratch_image_is_deleted():
    assert plan(scratch()) == CleanupPlan((Decision(HZ, "m-1", "TemplateScratch-m-1", "delete", DELETED),))


@pytest.mark.parametrize(("facts", "reason"), [
    (scratch(owner_alias="others"), "owned by another account (ImageOwnerAlias=others)"),
    (scratch(status="Creating"), "being created or copied (status Creating)"),
    (scratch(status="Waiting"), "being created or copied (status Waiting)"),
    (scratch(instances=("i-2", "i-1")), "in use by instance(s) i-1, i-2"),
    (scratch(listed_in_use=True), "in use (DescribeImages Usage=instance)"),
    (scratch(usage="instance"), "in use (DescribeImages Usage=instance)"),
    (scratch(share_accounts=("222", "111")), "shared with 111, 222"),
    (scratch(share_accounts=None, share_error="Throttling"), "share permissions unknown (Throttling); kept to be safe"),
    (scratch(hours=23.9), "younger than min_age_hours 24h"),
    (scratch(hours=-1), "creation time unknown; kept to be safe"),
])
def test_each_guard_keeps_a_scratch_image_with_its_reason(facts, reason):
    assert reasons(plan(facts)) == {"m-1": ("keep", reason)}


def test_instances_win_over_age_so_the_reason_names_what_a_person_can_fix():
    assert reasons(plan(scratch(hours=1, instances=("i-1",))))["m-1"] == ("keep", "in use by instance(s) i-1")


def test_a_copy_record_in_flight_keeps_its_source():
    records = [Record(key=f"copy/{HZ}/m-1/{BJ}", kind="copy", state=State.PENDING),
               Record(key=f"copy/{HZ}/m-9/{BJ}", kind="copy", state=State.DONE)]
    result = plan(scratch("m-1"), scratch("m-9"), in_flight=InFlight.from_records(records))
    assert reasons(result) == {"m-1": ("keep", f"being copied: in-flight copy record copy/{HZ}/m-1/{BJ}"),
                               "m-9": ("delete", DELETED)}


def test_a_retryable_failed_copy_still_counts_as_in_flight():
    record = Record(key=f"copy/{HZ}/m-1/{BJ}", kind="copy", state=State.FAILED, retryable=True)
    assert InFlight.from_records([record]).copies == ((HZ, "m-1", record.key),)


def test_a_running_copy_seen_in_the_cloud_keeps_its_source():
    running = ImageFacts(Image(region=BJ, image_id="m-c", name="x", status="Creating",
                               tags=provenance_tags("k", HZ, "m-1", "web"), creation_time=NOW))
    result = reasons(plan(scratch("m-1"), running))
    assert result["m-1"] == ("keep", f"being copied: running copy m-c in {BJ}")
    assert result["m-c"] == ("keep", "being created or copied (status Creating)")


def test_an_export_record_or_a_running_export_task_keeps_the_image():
    record = Record(key=f"export/{HZ}/m-1/qcow2", kind="export", state=State.STARTED)
    result = plan(scratch("m-1"), scratch("m-2"), in_flight=InFlight.from_records([record]),
                  exports=((HZ, "m-2", "t-9"),))
    assert reasons(result) == {"m-1": ("keep", f"being exported: in-flight export record {record.key}"),
                               "m-2": ("keep", "being exported: running export task t-9")}


def test_images_outside_the_rules_get_no_decision():
    other = ImageFacts(Image(region=HZ, image_id="m-app", name="app-web", creation_time=NOW))
    elsewhere = scratch("m-x", region="ap-southeast-1")
    assert plan(other, elsewhere).decisions == ()


def test_without_a_scratch_rule_scratch_images_are_not_considered():
    assert plan(scratch(), policy=CleanupPolicy(retention=Retention())).decisions == ()


# -- retention --------------------------------------------------------------------------------------

LINEAGE = "cn-hangzhou/family:app/rule:web/cn-beijing"


def test_retention_keeps_the_newest_n_by_creation_time_and_deletes_the_rest_after_the_grace():
    copies = [copy(f"m-{m}", f"app-{m}-cn-beijing", days=100 - 10 * m) for m in range(1, 6)]
    result = reasons(plan(*copies))
    assert result == {
        "m-5": ("keep", f"newest 1 of 2 kept in lineage {LINEAGE}"),
        "m-4": ("keep", f"newest 2 of 2 kept in lineage {LINEAGE}"),
        "m-3": ("delete", f"superseded by 2 newer copies in lineage {LINEAGE}; older than grace_days 7"),
        "m-2": ("delete", f"superseded by 2 newer copies in lineage {LINEAGE}; older than grace_days 7"),
        "m-1": ("delete", f"superseded by 2 newer copies in lineage {LINEAGE}; older than grace_days 7"),
    }
    assert {d.rule for d in plan(*copies).decisions} == {"retention"}


def test_retention_ranks_only_available_copies_and_keeps_the_others():
    copies = [copy("m-new", "app-9-cn-beijing", days=0.1, status="Creating"),
              copy("m-bad", "app-8-cn-beijing", days=20, status="CreateFailed"),
              copy("m-2", "app-2-cn-beijing", days=30), copy("m-1", "app-1-cn-beijing", days=40)]
    assert reasons(plan(*copies)) == {
        "m-new": ("keep", "being created or copied (status Creating)"),
        "m-bad": ("keep", "status CreateFailed; only Available copies are retired"),
        "m-2": ("keep", f"newest 1 of 2 kept in lineage {LINEAGE}"),
        "m-1": ("keep", f"newest 2 of 2 kept in lineage {LINEAGE}"),
    }


def test_retention_keeps_young_in_use_shared_and_out_of_scope_copies():
    copies = [copy("m-5", "app-5-cn-beijing", days=1), copy("m-4", "app-4-cn-beijing", days=2),
              copy("m-3", "app-3-cn-beijing", days=3),
              ImageFacts(copy("m-2", "app-2-cn-beijing", days=30).image, instances=("i-1",), source_family="app"),
              ImageFacts(copy("m-1", "app-1-cn-beijing", days=40).image, share_accounts=("111",),
                         source_family="app"),
              copy("m-0", "app-0-cn-beijing", days=50, rule="gone")]
    assert reasons(plan(*copies)) == {
        "m-5": ("keep", f"newest 1 of 2 kept in lineage {LINEAGE}"),
        "m-4": ("keep", f"newest 2 of 2 kept in lineage {LINEAGE}"),
        "m-3": ("keep", "younger than grace_days 7"),
        "m-2": ("keep", "in use by instance(s) i-1"),
        "m-1": ("keep", "shared with 111"),
        "m-0": ("keep", "rule 'gone' is no longer in the policy; outside every rule's scope"),
    }


def test_lineage_comes_from_the_source_family_never_from_the_name():
    # defect 2 (issue #10): names that differ only in digits are different images when their sources'
    # families differ: three newer ubuntu24 copies must not retire the only ubuntu22 copy
    copies = [copy("m-u22", "base-ubuntu22-2026-01", days=120, family="ubuntu22"),
              *(copy(f"m-u24-{m}", f"base-ubuntu24-2026-0{m}", days=100 - 10 * m, family="ubuntu24")
                for m in range(2, 6))]
    result = reasons(plan(*copies))
    u22, u24 = "cn-hangzhou/family:ubuntu22/rule:web/cn-beijing", "cn-hangzhou/family:ubuntu24/rule:web/cn-beijing"
    assert result["m-u22"] == ("keep", f"newest 1 of 2 kept in lineage {u22}")
    assert result["m-u24-2"] == ("delete", f"superseded by 2 newer copies in lineage {u24}; older than grace_days 7")


def test_same_family_different_names_is_one_lineage():
    copies = [copy("m-a", "app-v1", days=90), copy("m-b", "svc2-release", days=60), copy("m-c", "other", days=30)]
    assert reasons(plan(*copies))["m-a"] == (
        "delete", f"superseded by 2 newer copies in lineage {LINEAGE}; older than grace_days 7")


@pytest.mark.parametrize(("family", "why"), [
    ("", "lineage unknown: source image m-src-m-1 has no image family; kept to be safe"),
    (None, "lineage unknown: source image m-src-m-1 could not be read; kept to be safe"),
])
def test_an_unknown_lineage_is_kept_and_supersedes_nothing(family, why):
    copies = [copy("m-1", "app-1", days=200, family=family), copy("m-2", "app-2", days=100),
              copy("m-3", "app-3", days=90)]
    result = reasons(plan(*copies))
    assert result["m-1"] == ("keep", why)
    assert result["m-2"] == ("keep", f"newest 2 of 2 kept in lineage {LINEAGE}")


def test_a_reference_keeps_the_image_with_its_reason():
    facts = scratch(references=("named by launch template lt-1 version(s) 3",))
    assert reasons(plan(facts)) == {"m-1": ("keep", "named by launch template lt-1 version(s) 3")}


# -- blast radius -----------------------------------------------------------------------------------


def test_the_count_limit_raises_before_anything_runs():
    policy = POLICY.model_copy(update={"max_deletions": 2})
    inventory = Inventory(regions=(HZ,), images=tuple(scratch(f"m-{i}") for i in range(3)))
    with pytest.raises(PlanLimitExceededError) as err:
        plan_cleanup(policy, inventory, InFlight(), NOW, rules=set())
    assert str(err.value) == "cleanup would delete 3 image(s), above max_deletions 2; nothing was deleted"


def test_the_count_limit_allows_exactly_max_deletions():
    policy = POLICY.model_copy(update={"max_deletions": 3})
    inventory = Inventory(regions=(HZ,), images=tuple(scratch(f"m-{i}") for i in range(3)))
    assert len(plan_cleanup(policy, inventory, InFlight(), NOW, rules=set()).deletions) == 3


def test_the_share_limit_counts_every_considered_image():
    images = (scratch("m-1"), scratch("m-2"), scratch("m-3", hours=1), scratch("m-4", hours=1))
    half = plan(*images)
    check_limits(half, POLICY.model_copy(update={"max_share": 0.5, "share_floor": 0}))  # 2 of 4 is not above 50%
    with pytest.raises(PlanLimitExceededError, match=r"delete 2 of 4 considered image\(s\) \(50%\), above max_share 40%"):
        check_limits(half, POLICY.model_copy(update={"max_share": 0.4, "share_floor": 0}))


def test_the_share_limit_lets_a_first_small_run_through_up_to_the_floor():
    three = plan(scratch("m-1"), scratch("m-2"), scratch("m-3", hours=1))  # 2 of 3 deleted: 67%
    check_limits(three, CleanupPolicy())  # the defaults: max_share 50% applies only above 5 deletions
    with pytest.raises(PlanLimitExceededError, match=r"delete 2 of 3 considered image\(s\) \(67%\), above max_share 50%"):
        check_limits(three, CleanupPolicy(share_floor=1))
    many = plan(*(scratch(f"m-{i}") for i in range(6)), *(scratch(f"m-y{i}", hours=1) for i in range(2)))
    with pytest.raises(PlanLimitExceededError, match=r"delete 6 of 8 considered image\(s\) \(75%\)"):
        check_limits(many, CleanupPolicy())  # above the floor the share applies again


def test_an_empty_plan_passes_every_limit():
    check_limits(CleanupPlan(), CleanupPolicy(max_deletions=0, max_share=0))


# -- policy -----------------------------------------------------------------------------------------


def test_the_cleanup_section_parses_and_defaults_regions_to_the_copy_rules():
    from shared.policy.cleanup import cleanup_regions

    policy = load_policy("""
copy_rules:
  - {name: web, source_regions: [cn-hangzhou], target_regions: [cn-beijing, ap-southeast-1]}
cleanup:
  template_scratch: {min_age_hours: 24}
  retention: {keep_newest: 3, grace_days: 7}
  max_deletions: 20
  max_share: 0.5
""")
    assert cleanup_regions(policy) == ["ap-southeast-1", "cn-beijing", "cn-hangzhou"]
    assert policy.cleanup == CleanupPolicy(template_scratch=TemplateScratch(min_age_hours=24),
                                           retention=Retention(keep_newest=3, grace_days=7))


@pytest.mark.parametrize(("yaml", "field", "message"), [
    ("cleanup: {regions: [nowhere!]}", "cleanup.regions", "not a region id: 'nowhere!'"),
    ("cleanup: {regions: [cn-beijing, cn-beijing]}", "cleanup.regions", "duplicate region 'cn-beijing'"),
    ("cleanup: {max_share: 1.5}", "cleanup.max_share", "Input should be less than or equal to 1"),
    ("cleanup: {retention: {keep_newest: 0}}", "cleanup.retention.keep_newest",
     "Input should be greater than or equal to 1"),
    ("cleanup: {template_scratch: {min_age: 3}}", "cleanup.template_scratch.min_age", "unknown key 'min_age'"),
    ("cleanup: {max_deletion: 3}", "cleanup.max_deletion", "unknown key 'max_deletion'"),
])
def test_a_bad_cleanup_section_names_its_field(yaml, field, message):
    with pytest.raises(ConfigError) as err:
        load_policy(yaml)
    assert (err.value.field, err.value.message) == (field, message)


# -- retention of a build rule's template outputs (per template and region) ---------------------------------


def built(image_id: str, *, days: float, status: str = "SUCCESS", **facts: Any) -> ImageFacts:
    """A template's own image in BJ (its distribution's copy) of build exec-<image_id> ended `status`."""
    from shared.cleanup.model import BuildOutput

    image = Image(region=BJ, image_id=image_id, name=f"golden_exec-{image_id}", is_copied=True,
                  creation_time=NOW - dt.timedelta(days=days), owner_alias="self")
    return ImageFacts(image, build=BuildOutput(HZ, "ip-1", f"exec-{image_id}", status), **facts)


def test_a_test_failed_builds_image_keeps_no_place_among_the_newest_and_a_running_builds_image_stays():
    # GIVEN keep_newest 2: the newest build still runs, the next one's test failed, then three good builds
    result = reasons(plan(built("m-run", days=8, status="DISTRIBUTING"), built("m-tf", days=9, status="TEST_FAILED"),
                          built("m-a", days=10), built("m-b", days=11, status="PARTITION_SUCCESS"),
                          built("m-c", days=12)))
    lineage = f"{HZ}/pipeline:ip-1/{BJ}"
    # THEN the two newest good builds are the kept ones, the running build's image stays, the oldest good goes
    assert result["m-run"] == ("keep", "its build exec-m-run still runs (DISTRIBUTING)")
    assert result["m-a"] == ("keep", f"newest 1 of 2 kept in lineage {lineage}")
    assert result["m-b"] == ("keep", f"newest 2 of 2 kept in lineage {lineage}")
    assert result["m-c"] == ("delete", f"superseded by 2 newer builds' images in lineage {lineage}; "
                                       "older than grace_days 7")
    # and the TEST_FAILED image stays only while fewer than keep_newest good builds are newer
    assert result["m-tf"] == ("keep", "not counted among the newest (build exec-m-tf ended TEST_FAILED); 0 newer "
                                      f"counted in lineage {lineage}, fewer than keep_newest 2")
    older = reasons(plan(built("m-a", days=10), built("m-b", days=11), built("m-tf", days=12, status="TEST_FAILED")))
    assert older["m-tf"][0] == "delete"


@pytest.mark.parametrize(("facts", "in_flight", "reason"), [
    ({"share_accounts": ("3333333333333333",)}, None, "shared with 3333333333333333"),
    ({"instances": ("i-1",)}, None, "in use by instance(s) i-1"),
    ({"references": ("named by launch template lt-1 version(s) 2",)}, None,
     "named by launch template lt-1 version(s) 2"),
    ({}, InFlight(copies=((BJ, "m-c", "copy/cn-beijing/m-c/ap-southeast-1"),)),
     "being copied: in-flight copy record copy/cn-beijing/m-c/ap-southeast-1"),
])
def test_a_superseded_builds_image_is_kept_by_every_guard(facts: dict[str, Any], in_flight: InFlight | None,
                                                         reason: str):
    result = reasons(plan(built("m-a", days=10), built("m-b", days=11), built("m-c", days=12, **facts),
                          in_flight=in_flight))
    assert result["m-c"] == ("keep", reason)


def test_superseded_builds_images_count_in_the_blast_radius():
    facts = [built(f"m-{n}", days=10 + n) for n in range(5)]
    with pytest.raises(PlanLimitExceededError, match="cleanup would delete 3 image"):
        plan_cleanup(POLICY.model_copy(update={"max_deletions": 2}), Inventory(regions=(HZ, BJ), images=tuple(facts)),
                     InFlight(), NOW, rules={"web"})
