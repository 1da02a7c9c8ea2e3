"""The golden-image scene of `make demo` (issue #14): Image Builder builds off-peak, image-relay hands the image on.

A template in Hangzhou distributes its image to Beijing and Shanghai (its own ToRegionIds, unencrypted). A build
rule starts it when the night window opens (01:00 Shanghai); when the build ends SUCCESS its image is handed to a
copy rule that copies it *encrypted* to three regions (Singapore beyond the template's distribution) and to an
export rule that writes it to OSS; every copy and the export's manifest carry the build's lineage. The ticks are
timer events at explicit times, ten minutes apart, on the emulator's virtual clock.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from emulator import Emulator
from scripts import sample_world as scene
from scripts.invoke import EMULATOR_CREDENTIALS, invoke
from scripts.progress import progress

PIPELINE_ID = "ip-bp1demogold01"
PIPELINE_REGIONS = ("cn-beijing", "cn-shanghai")
COPY_REGIONS = ("cn-beijing", "cn-shanghai", "ap-southeast-1")
KMS_KEYS = {"cn-beijing": "key-bj-1", "cn-shanghai": "key-sh-1", "ap-southeast-1": "key-sg-1"}
NIGHT_START = dt.datetime(2026, 11, 22, 16, 30, tzinfo=dt.timezone.utc)  # 00:30 in Shanghai, before the window

GOLDEN_POLICY_YAML = f"""\
# Build the golden image when the night opens; copy it encrypted to three regions and archive it to OSS.
windows:
  - {{name: night, start: "01:00", end: "05:00", timezone: Asia/Shanghai}}
copy_rules:
  - name: golden-copy
    source_regions: [cn-hangzhou]
    match: {{name_regex: "^golden-by-build-only$"}}  # takes only what the build rule hands it
    target_regions: [{", ".join(COPY_REGIONS)}]
    encrypt: {{{", ".join(f"{r}: {k}" for r, k in KMS_KEYS.items())}}}
export_rules:
  - name: golden-archive
    source_regions: [cn-hangzhou]
    match: {{name_regex: "^golden-by-build-only$"}}
    bucket: {{cn-hangzhou: {scene.EXPORT_BUCKET}}}
    oss_prefix: golden
    window: night
build_rules:
  - name: golden
    pipeline: {{region: cn-hangzhou, name: golden-base}}
    window: night
    copy_rules: [golden-copy]
    export_rules: [golden-archive]
"""


@dataclass
class Golden:
    """What the golden-image scene did, for the report."""

    builds: list[dict[str, Any]] = field(default_factory=list)
    copies: list[dict[str, Any]] = field(default_factory=list)
    exports: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = ""
    lineage_ok: bool = False
    api_calls: int = 0


def seed() -> dict[str, Any]:
    """Shanghai enabled, its and Beijing's KMS keys, and the template."""
    return {"regions": [scene.SOURCE, *scene.TARGETS, "cn-shanghai"],
            "kms_keys": [{"region": r, "key_id": k} for r, k in KMS_KEYS.items() if r != "ap-southeast-1"],
            "image_pipelines": [{"region": scene.SOURCE, "pipeline_id": PIPELINE_ID, "name": "golden-base",
                                 "base_image": "m-bp1demoweb0001", "image_name": "golden",
                                 "to_regions": list(PIPELINE_REGIONS)}]}


def _tick(at: dt.datetime) -> dict[str, Any]:
    when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    answer: dict[str, Any] = json.loads(invoke("reconcile", scene.timer_event(when)))
    invoke("export_batch", scene.timer_event(when))
    return answer


def golden_phase(emu: Emulator, ledger: Any) -> Golden:
    """Ticks every ten minutes from 00:30 Shanghai until the build, its copies and its export have ended."""
    from scripts.status import build_rows, copy_rows, export_rows
    from shared.policy import load_policy

    emu.control.seed(seed())
    before = len(emu.control.requests())
    golden, at = Golden(), NIGHT_START
    with progress("golden image", total=None) as advance:
        for _ in range(40):
            answer = _tick(at)
            if not golden.started_at and (answer.get("builds") or {}).get("outcomes", {}).get("started"):
                golden.started_at = at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M Shanghai")
            advance(at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M Shanghai"))
            if _finished(ledger):
                break
            emu.control.advance(600)
            at += dt.timedelta(minutes=10)
    now = dt.datetime.now(dt.timezone.utc)
    golden.builds = build_rows(ledger, now)
    golden.copies = [r for r in copy_rows(ledger, load_policy(GOLDEN_POLICY_YAML), now) if r["rule"] == "golden-copy"]
    golden.exports = [r for r in export_rows(ledger, now) if r["rule"] == "golden-archive"]
    if not golden.builds:
        raise SystemExit("demo: the golden image was not built")
    golden.api_calls = len(emu.control.requests()) - before
    golden.lineage_ok = _lineage_everywhere(emu, golden, ledger)
    if not golden.builds or any(r["state"] != "done" for r in golden.builds + golden.copies + golden.exports) \
            or len(golden.copies) != len(COPY_REGIONS) or not golden.exports:
        raise SystemExit("demo: the golden image did not reach all its targets")
    return golden


def _finished(ledger: Any) -> bool:
    """The build has ended and so has every copy and export of its image."""
    builds = list(ledger.scan("build/"))
    if not builds or any(b.is_active for b in builds):
        return False
    image = builds[0].data.get("image_id")
    handed = [*ledger.scan(f"copy/{scene.SOURCE}/{image}/"), *ledger.scan(f"export/{scene.SOURCE}/{image}/")]
    return not image or (bool(handed) and not any(r.is_active for r in handed))


def _credentials() -> Any:
    from shared.config import Credentials

    return Credentials(access_key_id=EMULATOR_CREDENTIALS[0], access_key_secret=EMULATOR_CREDENTIALS[1])


def _lineage_everywhere(emu: Emulator, golden: Golden, ledger: Any) -> bool:
    """Every copy (encrypted) and the export's manifest carry the build's (pipeline, execution)."""
    from shared.clouds.ecs import EcsGateway
    from shared.clouds.oss import OssGateway

    ecs = EcsGateway.connect(_credentials(), endpoint=emu.url)
    lineage = {"image-relay:pipeline": PIPELINE_ID, "image-relay:execution": golden.builds[0]["execution_id"]}
    for row in golden.copies:
        image = ecs.get_image(row["region"], row["copy_image_id"])
        if image is None or any(image.tags.get(k) != v for k, v in lineage.items()) or \
                not any(d.encrypted for d in image.disks):
            return False
    oss = OssGateway.connect(_credentials(), endpoint=emu.url)
    manifests = [json.loads(oss.get(scene.SOURCE, scene.EXPORT_BUCKET, ledger.get(row["key"]).data["manifest"]) or b"{}")
                 for row in golden.exports]
    return bool(manifests) and all(m.get("lineage") == lineage for m in manifests)


def story(golden: Golden, number: int) -> list[str]:
    """The report's line on the golden image, numbered ``number``."""
    if not golden.builds:
        return []
    build = golden.builds[0]
    regions = ", ".join(sorted(r["region"] for r in golden.copies))
    return [
        f"{number}. Image Builder built the golden image when the night window opened ({golden.started_at}): "
        f"{build['stage']} in {build['execution_id']}. image-relay copied it encrypted to {regions} (Singapore "
        f"beyond the template's own {', '.join(PIPELINE_REGIONS)}) and exported it to OSS; every copy and the "
        "export's manifest carry the build's lineage (pipeline, execution)"
        + ("." if golden.lineage_ok else ", EXCEPT some copies: see the log."),
    ]
