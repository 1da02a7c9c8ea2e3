"""The design's invariants, checked from the emulator's point of view and the ledger's.

One named check per invariant of the design brief (../shared/docs/design.md "Invariants every change
keeps"), each a function `(World) -> list[str]` of violations, one line each. `CHECKS` lists them in the
brief's order; `check_invariants` runs them all. A check reads only what a person could read after the run:
the emulator's request log and its DescribeImages / DescribeTasks / ListRepoSyncTask answers, and the ledger.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from scripts.chaos.scenario import (
    ACR_EXCLUDE,
    ACR_INCLUDE,
    ACR_PARTNER,
    ACR_PARTNER_TARGET,
    ACR_SOURCE,
    ACR_TARGETS,
    COPY_SOURCE_MINUTES,
    DECOY_INSTANCES,
    DECOY_VSWITCH,
    EXPORT_REGION,
    GOLDEN_TARGET,
    KEY_ID,
    LEFTOVER_GRACE_HOURS,
    LEFTOVER_PIPELINE,
    LEFTOVER_REGION,
    LINEAGE_TRAP,
    PARTNER_ACCOUNT,
    PARTNER_REGIONS,
    PARTNER_ROLE,
    PIPELINE_ID,
    PIPELINE_TO,
    REGIONS,
    SCRATCH_MIN_AGE_HOURS,
    TARGETS,
    TRAP_REGION,
    Scenario,
)

if TYPE_CHECKING:
    from scripts.chaos.runner import Run


@dataclass
class World:
    """What the checks read, gathered once after the run settled."""

    run: Run
    calls: list[dict[str, Any]]
    ecs: Any
    ledger: Any
    images: dict[str, dict[str, Any]]

    @property
    def sc(self) -> Scenario:
        return self.run.sc


def gather(run: Run, calls: list[dict[str, Any]]) -> World:
    from shared.clouds.ecs import EcsGateway
    from shared.config import Credentials

    creds = Credentials(access_key_id=KEY_ID, access_key_secret=run.secret)
    ecs = EcsGateway.connect(creds, endpoint=run.emu.url)
    images = {region: {i.image_id: i for i in ecs.list_images(region)} for region in REGIONS}
    return World(run=run, calls=calls, ecs=ecs, ledger=run.ledger(), images=images)


def at_most_one_copy(w: World) -> list[str]:
    """1. At most one copy per (source image, target region, rule); one live sync task per (tag, target);
    one finished export per (image, format)."""
    out: list[str] = []
    by_key: dict[str, list[str]] = defaultdict(list)
    for region in TARGETS:
        for image in w.images[region].values():
            key = image.tags.get("image-relay:key")
            if key and image.status != "CreateFailed":
                by_key[key].append(image.image_id)
    for key, ids in sorted(by_key.items()):
        if len(ids) > 1:
            out.append(f"duplicate copy: {key} has {len(ids)} images {sorted(ids)}")
    if w.sc.acr_tags:
        from shared.clouds.acr import AcrGateway
        from shared.config import Credentials

        cr = AcrGateway.connect(Credentials(access_key_id=KEY_ID, access_key_secret=w.run.secret),
                                endpoint=w.run.emu.url)
        alive: Counter[tuple[str, str, str, bool]] = Counter()  # the partner's instance counts apart (CrossUser)
        for task in cr.iter_sync_tasks("cn-hangzhou", ACR_SOURCE, namespace="web", repository="frontend"):
            if task.status.upper() not in ("ERROR", "CANCELED", "CANCELLED", "FAILED"):
                alive[(task.source.tag, task.target.instance_id, task.target.namespace, task.cross_user)] += 1
        for (tag, target, namespace, cross), n in sorted(alive.items()):
            if n > 1:
                where = f"{ACR_PARTNER}:" if cross else ""
                out.append(f"duplicate sync task: {tag} -> {where}{target}/{namespace} has {n} live tasks")
    if w.sc.export_rule:
        finished = Counter(t.image_id for t in w.ecs.iter_export_tasks(EXPORT_REGION) if t.status == "Finished")
        for image_id, n in sorted(finished.items()):
            if n > 1:
                out.append(f"duplicate export: {image_id} exported {n} times")
    return out


def accounts_exactly_once(w: World) -> list[str]:
    """1. (issue #13) Per (source image, account, region) at most one partner copy (by its provenance tags);
    a delivered image has its copy in every partner region; no share is left behind (keep_shared is false);
    nothing in the partner account is ever deleted (partner-side cleanup needs an explicit partner rule)."""
    if not w.sc.partner:
        return []
    from shared.clouds.sts import AccountSessions, StsGateway
    from shared.config import Credentials
    from shared.ledger.keys import xcopy_key, xshare_key

    sts = StsGateway.connect(Credentials(access_key_id=KEY_ID, access_key_secret=w.run.secret),
                             endpoint=w.run.emu.url)
    partner = AccountSessions(sts, endpoint=w.run.emu.url).ecs(PARTNER_ROLE)
    out: list[str] = []
    seen: dict[str, dict[str, Any]] = {}
    for region in REGIONS:
        seen[region] = {i.image_id: i for i in partner.list_images(region)}
        by_source: dict[str, list[str]] = defaultdict(list)
        for image in seen[region].values():
            source = image.tags.get("image-relay:source-image")
            if source is None:
                out.append(f"stray partner image: {image.image_id} in {region} carries no provenance")
            elif image.status != "CreateFailed":
                by_source[source].append(image.image_id)
        out += [f"duplicate partner copy: {source} has {len(ids)} copies in {PARTNER_ACCOUNT}/{region} "
                f"{sorted(ids)}" for source, ids in sorted(by_source.items()) if len(ids) > 1]
    for im in w.sc.images:
        source = w.images[im.region].get(im.image_id)
        if source is not None and PARTNER_ACCOUNT in w.ecs.image_share_accounts(im.region, im.image_id):
            out.append(f"share left behind: {im.image_id} is still shared with {PARTNER_ACCOUNT}")
        if not im.copied or source is None or source.status != "Available":
            continue
        share = w.ledger.get(xshare_key(im.region, im.image_id, PARTNER_ACCOUNT))
        if share is None:
            out.append(f"missing account target: no share record for {im.image_id}")
            continue
        if im.large:
            if share.state.value != "FAILED" or "CopyImage copies at most" not in (share.reason or ""):
                out.append(f"an image above CopyImage's limit was not refused up front: {share.key} {share.state}")
            continue
        for region in dict.fromkeys([im.region, *PARTNER_REGIONS]):
            record = w.ledger.get(xcopy_key(im.region, im.image_id, PARTNER_ACCOUNT, region))
            if record is None or record.state.value != "DONE":
                out.append(f"partner copy not delivered: {im.image_id} -> {PARTNER_ACCOUNT}/{region} "
                           f"({None if record is None else (record.state.value, record.reason)})")
            elif getattr(seen[region].get(record.cloud_id or ""), "status", None) != "Available":
                out.append(f"DONE without an Available partner copy: {record.key} -> {record.cloud_id}")
    out += [f"deleted in the partner account: {c['params'].get('ImageId')}" for c in _deletes(w)
            if c.get("account") == PARTNER_ACCOUNT]
    return out


def every_target_settles(w: World) -> list[str]:
    """2. Once faults stop, every matching target ends DONE or FAILED with a reason a person can act on."""
    from shared.ledger.keys import CLEANUP, copy_key, parse_key

    out: list[str] = []
    for record in w.ledger.scan(""):
        if record.kind == "event" or record.key.startswith(("event/", "slots/", "wake/")):
            continue
        state = record.state.value
        if state in ("PENDING", "STARTED"):
            kind, parts = parse_key(record.key)
            region, image_id = (*parts, "", "")[:2]
            if kind == CLEANUP and w.ecs.get_image(region, image_id) is None:
                out.append(f"cleanup record left {state} after its image was deleted: {record.key}")
            else:
                out.append(f"not settled: {record.key} is {state}")
        elif state == "FAILED" and not (record.reason or "").strip():
            out.append(f"failed without a reason: {record.key}")
    for im in w.sc.images:
        if not im.copied:
            continue
        for region in TARGETS:
            key = copy_key(im.region, im.image_id, region)
            record = w.ledger.get(key)
            if record is None:
                out.append(f"missing target: no record for {key}")
            elif record.state.value == "DONE":
                copy = w.images[region].get(record.cloud_id or "")
                if copy is None or copy.status != "Available":
                    out.append(f"DONE without an Available copy: {key} -> {record.cloud_id}")
        if w.sc.export_rule and im.exported:
            found = list(w.ledger.scan(f"export/{im.region}/{im.image_id}/"))
            if len(found) != 1:
                out.append(f"missing export target: {im.image_id} has {len(found)} export records")
    if w.sc.acr_tags:
        from shared.acr.planner import target_of

        synced = {(target_of(r).source.tag, target_of(r).target_account, target_of(r).target_instance)
                  for r in w.ledger.scan("acr/")}
        wanted = [(None, inst) for inst, _, _ in ACR_TARGETS] + [(ACR_PARTNER, ACR_PARTNER_TARGET[0])]
        for tag in w.sc.acr_tags:
            if re.search(ACR_INCLUDE, tag) and not re.search(ACR_EXCLUDE, tag):
                for account, inst in wanted:
                    if (tag, account, inst) not in synced:
                        out.append(f"missing sync target: {tag} -> {account + ':' if account else ''}{inst}")
    return out


def cleanup_keeps_the_protected(w: World) -> list[str]:
    """3. Cleanup never deletes an image that is protected (in use, young, being copied or exported, shared,
    foreign, a source image), never with `Force`, and does delete the old unused leftovers."""
    out: list[str] = []
    sc = w.sc
    protected = {im.image_id for im in sc.images} | {s.image_id for s in sc.scratch if s.protected}
    for call in _deletes(w):
        image_id = call["params"].get("ImageId")
        if str(call["params"].get("Force", "false")).lower() == "true":
            out.append(f"DeleteImage with Force on {image_id}")
        if image_id in protected:
            out.append(f"deleted a protected image: {image_id} ({_why_protected(sc, image_id)})")
    for s in sc.scratch:
        present = w.ecs.get_image(s.region, s.image_id) is not None
        if s.deletable and present:
            out.append(f"cleanup left an old unused scratch image: {s.image_id}")
        if s.protected and not present:
            out.append(f"a protected scratch image vanished: {s.image_id} ({s.kind})")
    return out


def lineage_from_provenance(w: World) -> list[str]:
    """3. Retention never takes a copy for a newer release of another lineage (names alike once digits are masked)."""
    if not w.sc.lineage_trap:
        return []
    out: list[str] = []
    deleted = {c["params"].get("ImageId") for c in _deletes(w)}
    for source_id, name, _, only in LINEAGE_TRAP:
        copy_id = f"m-copy{source_id[2:]}"
        if only and (copy_id in deleted or copy_id not in w.images[TRAP_REGION]):
            out.append(f"lineage crossed: {name} ({copy_id}), the only copy of {source_id}, was deleted")
    return out


def copy_source_kept(w: World) -> list[str]:
    """3. No image is deleted (or even asked to be) while a copy someone else started reads it."""
    out: list[str] = []
    started = {c["params"].get("ImageId"): float(c["time"]) for c in w.calls
               if c["action"] == "CopyImage" and str(c["params"].get("DestinationImageName", "")).startswith("console-")}
    for call in _deletes(w):
        image_id = call["params"].get("ImageId")
        if image_id in started and float(call["time"]) < started[image_id] + COPY_SOURCE_MINUTES * 60:
            out.append(f"deleted the source of a running copy: {image_id} (DeleteImage answered {call['status']})")
    return out


def age_guard_holds(w: World) -> list[str]:
    """3. No scratch image is deleted younger than its minimum age by the real (emulator) clock, whatever time a
    timer or a person claimed."""
    out: list[str] = []
    born = {s.image_id: w.run.start - dt.timedelta(hours=1 if s.kind == "young" else 72) for s in w.sc.scratch}
    for call in _deletes(w):
        image_id = call["params"].get("ImageId")
        if image_id in born:
            age = dt.datetime.fromtimestamp(float(call["time"]), tz=dt.timezone.utc) - born[image_id]
            if age < dt.timedelta(hours=SCRATCH_MIN_AGE_HOURS):
                out.append(f"age guard crossed: {image_id} deleted {age.total_seconds() / 3600:.1f} h old")
    return out


def no_object_overwritten(w: World) -> list[str]:
    """4. An export never overwrites an existing object (ledger objects included): no successful PutObject to a
    key that exists. The OSS ledger deletes old versions, so a key may be written again after its delete."""
    exists: dict[tuple[Any, Any], bool] = {}
    overwritten: Counter[tuple[Any, Any]] = Counter()
    for c in w.calls:
        if c["service"] != "oss" or c["status"] not in (200, 204):
            continue
        where = (c["params"].get("bucket"), c["params"].get("key"))
        if c["action"] == "PutObject":
            if exists.get(where):
                overwritten[where] += 1
            exists[where] = True
        elif c["action"] == "DeleteObject":
            exists[where] = False
    return [f"object overwritten: oss://{bucket}/{key} {n} times" for (bucket, key), n in sorted(overwritten.items())]


def no_secret_leaked(w: World) -> list[str]:
    """5. No AccessKey secret appears in a log line, an output or an error."""
    out: list[str] = []
    secret = w.run.secret
    for where, text in (("log", w.run.logs.getvalue()), ("output", "\n".join(w.run.outputs))):
        if secret in text:
            line = next(ln for ln in text.splitlines() if secret in ln)
            out.append(f"secret in a {where} line: {line.replace(secret, '<SECRET>')[:200]}")
    return out


def one_build_per_slot(w: World) -> list[str]:
    """1. No double build: one Image Builder execution per (template, scheduled slot), whatever duplicated ticks,
    crashes or lost StartImagePipelineExecution answers; none the ledger does not know."""
    if not w.sc.build_rule:
        return []
    from shared.clouds.ecs_pipelines import ImageBuilderGateway
    from shared.config import Credentials

    gw = ImageBuilderGateway.connect(Credentials(access_key_id=KEY_ID, access_key_secret=w.run.secret),
                                     endpoint=w.run.emu.url)
    assert isinstance(gw, ImageBuilderGateway)  # connect() is typed on the base class
    executions = sorted(e.execution_id for e in gw.describe_pipeline_executions(EXPORT_REGION, pipeline_id=PIPELINE_ID))
    records = list(w.ledger.scan("build/"))
    out = []
    if len(executions) > len(records):
        out.append(f"double build: {len(executions)} executions of {PIPELINE_ID} for {len(records)} slot(s): "
                   f"{executions}")
    known = {r.cloud_id for r in records}
    out += [f"build unknown to the ledger: {e} of {PIPELINE_ID}" for e in executions if e not in known]
    return out


def build_handed_on(w: World) -> list[str]:
    """2. No lost hand-off: a build that ended SUCCESS or PARTITION_SUCCESS has its image at every copy and export
    target of its rule (and the template's failed region retried), each copy with the build's lineage; an image
    withheld (TEST_FAILED) went nowhere."""
    if not w.sc.build_rule:
        return []
    out: list[str] = []
    records = list(w.ledger.scan("build/"))
    if not records:
        out.append("lost build: the build rule's window slot has no record")
    for record in records:
        image, stage = record.data.get("image_id"), record.data.get("stage")
        if record.state.value != "DONE" or not image:
            continue
        copies = {c.data["target"]["target_region"]: c for c in w.ledger.scan(f"copy/{EXPORT_REGION}/{image}/")}
        exports = list(w.ledger.scan(f"export/{EXPORT_REGION}/{image}/"))
        if record.data.get("distribute") is False:
            if copies or exports:
                out.append(f"withheld image handed on: {image} ({stage}) has {len(copies)} copy and "
                           f"{len(exports)} export records")
            continue
        expected = {GOLDEN_TARGET} | ({PIPELINE_TO[-1]} if stage == "PARTITION_SUCCESS" else set())
        for region in sorted(expected):
            copy = copies.get(region)
            if copy is None:
                out.append(f"lost hand-off: {image} ({stage}) has no copy record for {region}")
            elif copy.state.value == "DONE":
                made = w.images[region].get(copy.cloud_id or "")
                if made is None or made.tags.get("image-relay:execution") != record.cloud_id:
                    out.append(f"hand-off without lineage: {copy.key} -> {copy.cloud_id}")
        if set(copies) - expected:
            out.append(f"handed to regions nobody asked for: {image} -> {sorted(set(copies) - expected)}")
        if w.sc.export_rule and len(exports) != 1:
            out.append(f"lost hand-off: {image} ({stage}) has {len(exports)} export records")
    return out


def _deletes(w: World) -> list[dict[str, Any]]:
    return [c for c in w.calls if c["action"] == "DeleteImage"]


def leftovers_guarded(w: World) -> list[str]:
    """3. Cleanup after failed builds never releases an unmarked or too-young instance: no DeleteInstance of a
    seeded instance (look-alikes without a mark or a build task, instances running our images), none of the failed
    build's instance before its end plus the grace, and no DeleteVSwitch/DeleteVpc of a user's own network."""
    from shared.clouds.ecs_pipelines import ImageBuilderGateway
    from shared.config import Credentials

    if not w.sc.build_leftovers:
        return []
    out: list[str] = []
    seeded = {i for i, _, _ in DECOY_INSTANCES} | {f"i-chaos{s.image_id[-4:]}" for s in w.sc.scratch
                                                   if s.kind == "in_use"}
    gateway = cast(ImageBuilderGateway, ImageBuilderGateway.connect(
        Credentials(access_key_id=KEY_ID, access_key_secret=w.run.secret), endpoint=w.run.emu.url))
    tasks = gateway.describe_pipeline_executions(LEFTOVER_REGION, pipeline_id=LEFTOVER_PIPELINE)
    ends = [t.modified_time.timestamp() for t in tasks if t.status == "FAILED" and t.modified_time]
    for call in (c for c in w.calls if c["action"] == "DeleteInstance" and c["status"] == 200):
        instance_id = str(call["params"].get("InstanceId"))
        if instance_id in seeded:
            out.append(f"released an instance without Image Builder's marks or build task: {instance_id}")
        elif not ends or call["time"] < min(ends) + LEFTOVER_GRACE_HOURS * 3600:
            out.append(f"released a failed build's instance younger than its end plus the grace: {instance_id}")
    for call in (c for c in w.calls if c["action"] in ("DeleteVSwitch", "DeleteVpc") and c["status"] == 200):
        if call["params"].get("VSwitchId") == DECOY_VSWITCH or call["params"].get("VpcId") == "vpc-decoyuser01":
            out.append(f"deleted a user's own network: {call['action']} {call['params']}")
    return out


def _why_protected(sc: Scenario, image_id: str) -> str:
    for s in sc.scratch:
        if s.image_id == image_id:
            return s.kind
    return "a source image"


CHECKS: tuple[Callable[[World], list[str]], ...] = (
    at_most_one_copy,
    accounts_exactly_once,
    one_build_per_slot,
    every_target_settles,
    build_handed_on,
    cleanup_keeps_the_protected,
    copy_source_kept,
    lineage_from_provenance,
    age_guard_holds,
    leftovers_guarded,
    no_object_overwritten,
    no_secret_leaked,
)


def check_invariants(run: Run, calls: list[dict[str, Any]]) -> list[str]:
    """Every violation of the design's invariants this run left behind, one line each."""
    world = gather(run, calls)
    out: list[str] = []
    for check in CHECKS:
        out.extend(check(world))
    return out
