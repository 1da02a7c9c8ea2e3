"""The scenario of a chaos run: what the world holds and what is delivered, drawn from a seed."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

from shared.ledger.keys import copy_key

UTC = dt.timezone.utc
ACCOUNT_ID = "1234567890123456"
OTHER_ACCOUNT = "9999888877776666"
SOURCES = ("cn-hangzhou", "cn-shanghai")
TARGETS = ("cn-beijing", "ap-southeast-1")
REGIONS = (*SOURCES, *TARGETS)
EXPORT_REGION = "cn-hangzhou"
EXPORT_BUCKET = "relay-chaos-hz"
#: scratch images referenced only by a launch template's older version, a scaling configuration, as the newest
#: image of a family, or as the source of a console copy still running
REFERENCE_KINDS = ("in_template", "in_scaling", "family_latest", "copy_source")
#: a console copy of this size (CopyImage's 2 TiB limit, nearly) runs at least 20 virtual minutes at the suite's
#: 100 GiB/min; its source may be cleaned up after, never before
COPY_SOURCE_GIB = 2000
COPY_SOURCE_MINUTES = 20
#: managed copies whose names collide once digits are masked, each of its own source image: retention may
#: never take one for a newer release of another (design invariant 3, "lineage comes from provenance")
LINEAGE_TRAP = (("m-trapu22", "base-ubuntu22-2026-01", 30, True), ("m-trapu24a", "base-ubuntu24-2026-02", 20, False),
                ("m-trapu24b", "base-ubuntu24-2026-03", 15, False), ("m-trapu24c", "base-ubuntu24-2026-04", 10, False),
                ("m-trapapp1", "app-v1-copy", 25, True), ("m-trapapp2", "app-v2-copy", 12, False))
TRAP_REGION = "cn-beijing"
SCRATCH_MIN_AGE_HOURS = 24
#: Failed-build leftovers (issue #14): a template that keeps its instances fails one build at the start (its
#: instance stays young for the whole run), beside look-alikes that lack a mark or a build task, and a user's own
#: vSwitch; the policy opts in to releases. None of these may be released (invariant "never an unmarked or
#: too-young instance").
LEFTOVER_REGION = "cn-hangzhou"
LEFTOVER_PIPELINE = "ip-chaosleftover01"
LEFTOVER_GRACE_HOURS = 24
BUILDER_TAG = "acs:ecs:image-builder:execution-id"
DECOY_INSTANCES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("i-decoyname0001", "ImageBuilder_Build_exec-decoy0001", {}),                      # the name, no tag
    ("i-decoytag00001", "web-1", {BUILDER_TAG: "exec-decoy0002"}),                     # the tag, another name
    ("i-decoynotask01", "ImageBuilder_Build_exec-decoy0003", {BUILDER_TAG: "exec-decoy0003"}),  # no such task
)
DECOY_VSWITCH = "vsw-decoyuser01"
#: the production ledger (the OSS store, against the emulator's OSS) in this share of runs; memory:// elsewhere
OSS_LEDGER_SHARE = 0.25
LEDGER_BUCKET = "relay-chaos-ledger"
LEDGER_URL = f"oss://{LEDGER_BUCKET}/ledger?region={EXPORT_REGION}"
ACR_SOURCE = "cri-hzsrc01"
ACR_TARGETS = (("cri-bjtgt01", "cn-beijing", "web"), ("cri-sgtgt01", "ap-southeast-1", "mirror"))
# An instance of a partner account (issue #13): its tasks carry TargetUserId; the partner's role trusts us.
ACR_PARTNER = "4444333322221111"
ACR_PARTNER_TARGET = ("cri-partnerbj01", "cn-beijing", "web")
ACR_TAGS = ("v1.0.0", "v1.1.0", "v2.0.0", "v2.1.0-rc1", "latest", "v3.0.0")
ACR_INCLUDE = r"^v\d+\.\d+\.\d+"
ACR_EXCLUDE = "-rc"
KEY_ID = "LTAIchaosKeyId0001"
#: the partner account of the runs with an account target (issue #13): a role trusting ACCOUNT_ID, its own KMS key
PARTNER_ACCOUNT = "5555666677778888"
PARTNER_ROLE = f"acs:ram::{PARTNER_ACCOUNT}:role/relay-partner"
PARTNER_REGIONS = TARGETS
PARTNER_KMS = ("ap-southeast-1", "key-p-sg")
EVENT_FUNCTIONS = frozenset({"image_created", "acr_push"})
FAULT_CODES = frozenset({"Throttling.User", "ServiceUnavailable", "InternalError"})
#: actions whose lost response (the action ran, the caller saw a 503) the design says is healed: by a
#: ClientToken (CopyImage, CopySnapshot, CreateImage), by adopting the running task (ExportImage), or by
#: not retrying and looking up the task first (CreateRepoSyncTask; found by this suite, fixed); a share is
#: idempotent (ModifyImageSharePermission) and an AssumeRole answer is only credentials; a build start carries a
#: ClientToken (StartImagePipelineExecution).
LOST_RESPONSE_ACTIONS = ("CopyImage", "CopySnapshot", "CreateImage", "ExportImage", "CreateRepoSyncTask",
                         "ModifyImageSharePermission", "AssumeRole", "StartImagePipelineExecution")
#: Image Builder (issue #14): a template in the export region, distributing to Beijing and Shanghai, built once per
#: run (the build rule follows the run's window); its image goes to the golden-copy rule (Singapore, encrypted)
#: and, with an export rule, to the archive
PIPELINE_ID = "ip-chaosgold01"
PIPELINE_BASE = "m-chaosbase01"
PIPELINE_TO = ("cn-beijing", "cn-shanghai")
BUILD_OUTCOMES = ("SUCCESS", "SUCCESS", "PARTITION_SUCCESS", "TEST_FAILED")
GOLDEN_TARGET = "ap-southeast-1"
#: faults of bugs found but not yet fixed, injected only with --strict (none open today)
KNOWN_ISSUE_ACTIONS: tuple[str, ...] = ()
#: Prefix of a violation that is a known, still-open bug: reported, counted apart, fatal only with --strict.
KNOWN_ISSUE = "known issue:"
ADAPTER_MODULES = ("shared.clouds._retry", "shared.clouds._gateway", "shared.clouds.ecs", "shared.clouds.acr",
                   "shared.clouds.oss", "shared.clouds.fc")
SETTLE_STEP_SECONDS = 600
MAX_SETTLE_TICKS = 40
PLATFORM_RETRIES = 3


@dataclass
class ImageSpec:
    """One source image of the scenario and what the policy should do with it."""

    region: str
    image_id: str
    name: str
    size_gib: int
    creating: bool = False
    ready_after: int = 0
    windows: bool = False

    @property
    def copied(self) -> bool:
        return self.name.startswith("app-")

    @property
    def large(self) -> bool:
        return self.size_gib > 2048

    @property
    def exported(self) -> bool:
        return self.region == EXPORT_REGION and self.name.startswith("app-web-")


@dataclass
class ScratchSpec:
    """A TemplateScratch- leftover; only `old` ones may ever be deleted."""

    region: str
    image_id: str
    kind: str  # old | in_use | young | shared | foreign | creating, or one of REFERENCE_KINDS

    @property
    def deletable(self) -> bool:
        return self.kind == "old"

    @property
    def protected(self) -> bool:
        """Kept for the whole run (a copy's source only while the copy runs: `invariants.copy_source_kept`)."""
        return self.kind not in ("old", "copy_source")


@dataclass
class Scenario:
    """Everything a run does, drawn from its seed (`draw`); tests may edit it before `run_scenario`."""

    seed: int
    images: list[ImageSpec]
    scratch: list[ScratchSpec]
    acr_tags: list[str]
    export_rule: bool
    throttle_rate: float
    error_rate: float
    latency_ms: int
    lost_response_rate: float
    crash_rate: float
    crash_max_calls: int
    store_fail_rate: float
    min_deliveries: int
    max_deliveries: int
    concurrency: float
    create_image_fail_rate: float
    ticks_during_chaos: int
    oss_ledger: bool = False
    stale_ticks: int = 0
    lineage_trap: bool = False
    skewed_clock: bool = False
    partner: bool = False  # the copy rule also delivers into PARTNER_ACCOUNT (share, partner copies, unshare)
    build_leftovers: bool = False
    build_rule: bool = False
    build_outcome: str = "SUCCESS"

    def knobs(self) -> dict[str, Any]:
        """The drawn numbers, for the report and for a person replaying a run."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("images", "scratch", "acr_tags")}


def run_seed(seed: int, index: int) -> int:
    """The seed of run `index` of a suite started with `seed` (stable across Python versions)."""
    digest = hashlib.sha256(f"image-relay-chaos/{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def draw(seed: int) -> Scenario:
    """Draw a scenario from `seed`."""
    rng = random.Random(seed)
    images: list[ImageSpec] = []
    large = 0
    for i in range(rng.randint(2, 6)):
        region = rng.choice(SOURCES)
        roll = rng.random()
        if roll < 0.15:
            name, size = f"db-mysql-{i}", rng.randint(20, 200)          # matches no rule
        elif roll < 0.35 and large < 2:
            name, size = f"app-big-{i}", rng.randint(2100, 2600)        # the snapshot path
            large += 1
        else:
            name, size = f"app-web-{i}", rng.randint(20, 300)
        creating = rng.random() < 0.3
        images.append(ImageSpec(region=region, image_id=f"m-chaos{i:05d}", name=name, size_gib=size,
                                creating=creating, ready_after=rng.randint(60, 1500) if creating else 0,
                                windows=name.startswith("app-web-") and rng.random() < 0.15))
    kinds = ("old", "old", "in_use", "young", "shared", "foreign", "creating")
    scratch = [ScratchSpec(region=rng.choice(REGIONS), image_id=f"m-scratch{i:04d}", kind=rng.choice(kinds))
               for i in range(rng.randint(0, 5))]
    acr_tags = rng.sample(ACR_TAGS, rng.randint(0, 3)) if rng.random() < 0.7 else []
    sc = Scenario(
        seed=seed,
        images=images,
        scratch=scratch,
        acr_tags=acr_tags,
        export_rule=rng.random() < 0.6,
        throttle_rate=round(rng.uniform(0, 0.3), 3),
        error_rate=round(rng.uniform(0, 0.3), 3),
        latency_ms=rng.choice((0, 0, 1, 3)),
        lost_response_rate=round(rng.uniform(0, 0.3), 3),
        crash_rate=round(rng.uniform(0, 0.4), 3),
        crash_max_calls=rng.randint(1, 12),
        store_fail_rate=round(rng.uniform(0, 0.15), 3),
        min_deliveries=1,
        max_deliveries=rng.randint(2, 3),
        concurrency=round(rng.uniform(0, 0.5), 3),
        create_image_fail_rate=rng.choice((0.0, 0.0, 0.2)),
        ticks_during_chaos=rng.randint(1, 4),
        oss_ledger=rng.random() < OSS_LEDGER_SHARE,  # drawn last: older seeds keep their scenario
        stale_ticks=rng.choice((0, 1, 1, 2)),
        lineage_trap=rng.random() < 0.4,
        skewed_clock=rng.random() < 0.3,
    )
    # images protected only by a reference ECS keeps elsewhere (design invariant 3); drawn after the rest
    for n, kind in enumerate(rng.sample(REFERENCE_KINDS, rng.randint(0, 2))):
        sc.scratch.append(ScratchSpec(region=rng.choice(REGIONS), image_id=f"m-scratchref{n:02d}", kind=kind))
    sc.partner = rng.random() < 0.5  # drawn last: older seeds keep the rest of their scenario
    sc.build_leftovers = rng.random() < 0.5  # drawn last: older seeds keep their scenario
    # Image Builder (issue #14); drawn after the leftovers, so older seeds keep their scenario
    sc.build_rule = rng.random() < 0.5
    sc.build_outcome = rng.choice(BUILD_OUTCOMES)
    return sc



def policy_yaml(sc: Scenario, now: dt.datetime) -> str:
    """The run's policy; the export window opens 30 minutes before the run's start and lasts 12 hours."""
    start = (now - dt.timedelta(minutes=30)).strftime("%H:%M")
    end = (now + dt.timedelta(hours=11, minutes=30)).strftime("%H:%M")
    text = f"""\
copy_rules:
  - name: web
    source_regions: [{", ".join(SOURCES)}]
    match: {{name_regex: "^app-"}}
    target_regions: [{", ".join(TARGETS)}]
    encrypt: {{ap-southeast-1: key-sg-1}}
    name_template: "{{name}}-{{target_region}}"
{_accounts(sc)}copy_limits: {{per_region: 5, large_image_gib: 1024, large_per_region: 1, gib_per_minute: 100}}
windows:
  - {{name: chaos, start: "{start}", end: "{end}", timezone: UTC}}
cleanup:
  regions: [{", ".join(REGIONS)}]
  template_scratch: {{min_age_hours: {SCRATCH_MIN_AGE_HOURS}}}
  retention: {{keep_newest: 3, grace_days: 7}}
  max_deletions: 20
  max_share: 1.0
"""
    if sc.build_leftovers:
        text += f"  release_failed_build_instances: true\n  failed_build_grace_hours: {LEFTOVER_GRACE_HOURS}\n"
    if sc.export_rule:
        text += f"""\
export_rules:
  - name: archive
    source_regions: [{EXPORT_REGION}]
    match: {{name_regex: "^app-web-"}}
    bucket: {{{EXPORT_REGION}: {EXPORT_BUCKET}}}
    oss_prefix: archive
    format: qcow2
    window: chaos
    max_concurrent: 2
"""
    if sc.build_rule:
        golden = f"""\
  - name: golden-copy
    source_regions: [{EXPORT_REGION}]
    match: {{name_regex: "^never-"}}
    target_regions: [{GOLDEN_TARGET}]
    encrypt: {{{GOLDEN_TARGET}: key-sg-1}}
"""
        text = text.replace("copy_limits:", golden + "copy_limits:", 1)
        text += f"""\
build_rules:
  - name: golden
    pipeline: {{region: {EXPORT_REGION}, id: {PIPELINE_ID}}}
    window: chaos
    copy_rules: [golden-copy]
""" + ("    export_rules: [archive]\n" if sc.export_rule else "")
    if sc.acr_tags:
        targets = "\n".join(
            f"      - {{instance_id: {inst}, region: {region}"
            + (f", namespace: {ns}" if ns != "web" else "") + "}"
            for inst, region, ns in ACR_TARGETS)
        text += f"""\
acr_rules:
  - name: web
    source: {{instance_id: {ACR_SOURCE}, region: cn-hangzhou}}
    namespaces: [web]
    repositories: [frontend]
    tags: {{include: '{ACR_INCLUDE}', exclude: '{ACR_EXCLUDE}'}}
    targets:
{targets}
    accounts:
      - account_id: "{ACR_PARTNER}"
        targets: [{{instance_id: {ACR_PARTNER_TARGET[0]}, region: {ACR_PARTNER_TARGET[1]}}}]
    override: false
"""
    return text


def _accounts(sc: Scenario) -> str:
    """The copy rule's account target, in runs that have one."""
    if not sc.partner:
        return ""
    region, key = PARTNER_KMS
    return f"""\
    accounts:
      - account_id: "{PARTNER_ACCOUNT}"
        role_arn: "{PARTNER_ROLE}"
        target_regions: [{", ".join(PARTNER_REGIONS)}]
        kms_keys: {{{region}: {key}}}
"""


def emulator_seed(sc: Scenario, now: dt.datetime, secret: str) -> dict[str, Any]:
    """The emulator world of the scenario."""
    def iso(at: dt.datetime) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")

    images: list[dict[str, Any]] = []
    for im in sc.images:
        entry: dict[str, Any] = {"region": im.region, "image_id": im.image_id, "name": im.name,
                                 "size_gib": im.size_gib, "tags": {"team": "web"}, "creation_time": iso(now)}
        if im.creating:
            entry.update(status="Creating", ready_after_seconds=im.ready_after)
        if im.windows:
            entry.update(os_type="windows", platform="Windows Server 2022")
        images.append(entry)
    instances: list[dict[str, Any]] = []
    launch_templates: list[dict[str, Any]] = []
    scaling: list[dict[str, Any]] = []
    for s in sc.scratch:
        entry = {"region": s.region, "image_id": s.image_id, "name": f"TemplateScratch-{s.image_id}",
                 "size_gib": 40, "creation_time": iso(now - dt.timedelta(hours=1 if s.kind == "young" else 72))}
        if s.kind == "in_use":
            instances.append({"region": s.region, "instance_id": f"i-chaos{s.image_id[-4:]}", "image_id": s.image_id})
        elif s.kind == "shared":
            entry["shared_with"] = ["2222333344445555"]
        elif s.kind == "foreign":
            entry.update(owner_alias="others", owner_id=OTHER_ACCOUNT)
        elif s.kind == "creating":
            entry.update(status="Creating", ready_after_seconds=30 * 86400)
        elif s.kind == "in_template":
            launch_templates.append({"region": s.region, "launch_template_id": f"lt-chaos{s.image_id[-4:]}",
                                     "versions": [{"version_number": 1, "image_id": s.image_id},
                                                  {"version_number": 2, "image_id": f"m-ltnewer{s.image_id[-4:]}"}]})
        elif s.kind == "in_scaling":
            scaling.append({"region": s.region, "scaling_configuration_id": f"asc-chaos{s.image_id[-4:]}",
                            "image_id": s.image_id})
        elif s.kind == "family_latest":
            entry["family"] = f"chaos-family-{s.image_id[-4:]}"
        elif s.kind == "copy_source":
            entry["size_gib"] = COPY_SOURCE_GIB
        images.append(entry)
    if sc.lineage_trap:
        for source_id, name, age_days, _ in LINEAGE_TRAP:
            key = copy_key("cn-hangzhou", source_id, TRAP_REGION)
            images.append({"region": TRAP_REGION, "image_id": f"m-copy{source_id[2:]}", "name": name, "size_gib": 40,
                           "creation_time": iso(now - dt.timedelta(days=age_days)),
                           "tags": {"image-relay:managed": "true", "image-relay:key": key,
                                    "image-relay:source-region": "cn-hangzhou", "image-relay:source-image": source_id,
                                    "image-relay:rule": "web"}})
    seed: dict[str, Any] = {
        "account_id": ACCOUNT_ID,
        "regions": list(REGIONS),
        "access_keys": [{"id": KEY_ID, "secret": secret}],
        "images": images,
        "instances": instances,
        "kms_keys": [{"region": "ap-southeast-1", "key_id": "key-sg-1"}],
        "buckets": [{"region": EXPORT_REGION, "name": EXPORT_BUCKET},
                    {"region": EXPORT_REGION, "name": LEDGER_BUCKET}],
    }
    if sc.partner:
        region, key = PARTNER_KMS
        seed["accounts"] = [{"account_id": PARTNER_ACCOUNT, "access_key_id": "LTAIchaosPartner01",
                             "access_key_secret": f"partner-{secret}",
                             "roles": [{"name": PARTNER_ROLE.rsplit("/", 1)[1], "trusted_accounts": [ACCOUNT_ID]}],
                             "kms_keys": [{"region": region, "key_id": key}]}]
    if sc.build_leftovers:
        instances += [{"region": LEFTOVER_REGION, "instance_id": i, "image_id": "", "name": name, "tags": tags,
                       "creation_time": iso(now - dt.timedelta(days=3))} for i, name, tags in DECOY_INSTANCES]
        seed["image_pipelines"] = [{"region": LEFTOVER_REGION, "pipeline_id": LEFTOVER_PIPELINE,
                                    "delete_instance_on_failure": False}]
        seed["vswitches"] = [{"region": LEFTOVER_REGION, "vswitch_id": DECOY_VSWITCH}]
    if sc.build_rule:
        images.append({"region": EXPORT_REGION, "image_id": PIPELINE_BASE, "name": "base-golden", "size_gib": 40,
                       "creation_time": iso(now)})
        seed.setdefault("image_pipelines", []).append({
            "region": EXPORT_REGION, "pipeline_id": PIPELINE_ID, "name": "chaos-golden", "base_image": PIPELINE_BASE,
            "image_name": "golden", "to_regions": list(PIPELINE_TO)})
    if launch_templates:
        seed["launch_templates"] = launch_templates
    if scaling:
        seed["scaling_configurations"] = scaling
    if sc.acr_tags:
        seed.update(
            acr_instances=[{"region": "cn-hangzhou", "instance_id": ACR_SOURCE, "name": "acr-hz",
                            "specification": "Enterprise_Advanced"},
                           *({"region": region, "instance_id": inst, "name": f"acr-{inst[4:6]}",
                              "specification": "Enterprise_Standard"} for inst, region, _ in ACR_TARGETS)],
            acr_namespaces=[{"instance_id": inst, "name": ns} for inst, _, ns in ACR_TARGETS],
            acr_repos=[{"instance_id": ACR_SOURCE, "namespace": "web", "name": "frontend"}],
        )
        inst, region, ns = ACR_PARTNER_TARGET
        seed["acr_instances"].append({"region": region, "instance_id": inst, "account_id": ACR_PARTNER})
        seed["acr_namespaces"].append({"instance_id": inst, "name": ns})
        seed.setdefault("accounts", []).append(
            {"account_id": ACR_PARTNER, "access_key_id": "chaos-acr-partner", "access_key_secret": secret,
             "roles": [{"name": "relay-acr", "trusted_accounts": [ACCOUNT_ID]}]})
    return seed


def image_event(im: ImageSpec, event_id: str) -> bytes:
    """ActionTrail CreateImage through EventBridge."""
    from scripts.sample_world import create_image_event

    return create_image_event(im.region, im.image_id, im.name, event_id=event_id)


def timer(at: dt.datetime, name: str, payload: str = "") -> bytes:
    return json.dumps({"triggerTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "triggerName": name,
                       "payload": payload}).encode()

