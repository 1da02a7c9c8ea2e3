"""The sample world image-relay runs in, wherever it runs without a cloud: one account, three regions, three
images in Hangzhou (one still Creating, one that matches no rule), the copy / export / ACR policies that act on
them, the ACR instances, and the events FC delivers (an ActionTrail CreateImage, a timer tick).

Why one module, and why not "demo": `local up` seeds this world, `make demo`, the benchmark and the chaos
suite start from it, and the tests' fixtures (tests/conftest.py, tests/world.py) build on it, all importing it
as ``scene``. It holds only what they all share; each story's own additions stay with the story (the demo's in
scripts/demo_scene.py), so the demo can change its story without moving a test. A change here moves the demo,
`local up` and the tests together, on purpose: they describe the same world.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

ACCOUNT_ID = "1234567890123456"
SOURCE = "cn-hangzhou"
TARGETS = ("cn-beijing", "ap-southeast-1")

POLICY_YAML = """\
# Copy every app- image owned by the web team from Hangzhou to Beijing and Singapore;
# the Singapore copy is encrypted with that region's KMS key.
copy_rules:
  - name: web
    source_regions: [cn-hangzhou]
    match: {name_regex: "^app-", tags: {team: web}}
    target_regions: [cn-beijing, ap-southeast-1]
    encrypt: {ap-southeast-1: key-sg-1}
    name_template: "{name}-{target_region}"
"""


EXPORT_BUCKET = "relay-exports-hz"

EXPORT_RULES_YAML = """\
# Archive app- images to OSS as qcow2, at night in Shanghai, two at a time.
windows:
  - {name: night, start: "01:00", end: "05:00", timezone: Asia/Shanghai}
export_rules:
  - name: archive
    source_regions: [cn-hangzhou]
    match: {name_regex: "^app-"}
    bucket: {cn-hangzhou: relay-exports-hz}
    oss_prefix: archive
    format: qcow2
    window: night
    max_concurrent: 2
"""
EXPORT_POLICY_YAML = POLICY_YAML + EXPORT_RULES_YAML


ACR_SOURCE = "cri-hzsrc01"
ACR_TARGETS = (("cri-bjtgt01", "cn-beijing"), ("cri-sgtgt01", "ap-southeast-1"))

ACR_POLICY_YAML = """\
# Replicate release tags of web/frontend from Hangzhou to Beijing, and to Singapore under mirror/.
acr_rules:
  - name: web
    source: {instance_id: cri-hzsrc01, region: cn-hangzhou}
    namespaces: [web]
    repositories: [frontend]
    tags: {include: '^v\\d+\\.\\d+\\.\\d+', exclude: '-rc'}
    targets:
      - {instance_id: cri-bjtgt01, region: cn-beijing}
      - {instance_id: cri-sgtgt01, region: ap-southeast-1, namespace: mirror}
    override: false
"""


def acr_seed(old_tags: int = 3) -> dict[str, Any]:
    """Three EE instances, the web/frontend repository with a few release tags pushed long ago."""
    return {
        "acr_instances": [
            {"region": SOURCE, "instance_id": ACR_SOURCE, "name": "acr-hz", "specification": "Enterprise_Advanced"},
            {"region": "cn-beijing", "instance_id": "cri-bjtgt01", "name": "acr-bj",
             "specification": "Enterprise_Standard"},
            {"region": "ap-southeast-1", "instance_id": "cri-sgtgt01", "name": "acr-sg",
             "specification": "Enterprise_Basic"},
        ],
        "acr_namespaces": [{"instance_id": "cri-bjtgt01", "name": "web"},
                           {"instance_id": "cri-sgtgt01", "name": "mirror"}],
        "acr_repos": [{"instance_id": ACR_SOURCE, "namespace": "web", "name": "frontend"}],
        "acr_tags": [{"instance_id": ACR_SOURCE, "namespace": "web", "repo": "frontend", "tag": f"v1.{i}.0",
                      "digest": f"sha256:{i:064x}", "size_bytes": 50_000_000 + i} for i in range(old_tags)],
    }


def seed() -> dict[str, Any]:
    """The emulator seed: the account, three regions, three images in Hangzhou (one in use by an instance, one
    still Creating, one that matches no rule), Singapore's KMS key and the export bucket."""
    return {
        "account_id": ACCOUNT_ID,
        "regions": [SOURCE, *TARGETS],
        "images": [
            {"region": SOURCE, "image_id": "m-bp1demoweb0001", "name": "app-web-2026-11", "size_gib": 40,
             "tags": {"team": "web"}, "platform": "Ubuntu"},
            {"region": SOURCE, "image_id": "m-bp1demoapi0002", "name": "app-api-2026-11", "size_gib": 100,
             "tags": {"team": "web"}, "status": "Creating", "ready_after_seconds": 300},
            {"region": SOURCE, "image_id": "m-bp1demodb00003", "name": "db-mysql-8", "size_gib": 60,
             "tags": {"team": "data"}},
        ],
        "instances": [{"region": SOURCE, "instance_id": "i-bp1demo000001", "image_id": "m-bp1demoweb0001"}],
        "kms_keys": [{"region": "ap-southeast-1", "key_id": "key-sg-1"}],
        "buckets": [{"region": SOURCE, "name": EXPORT_BUCKET}],
    }


def create_image_event(region: str, image_id: str, name: str, event_id: str | None = None) -> bytes:
    """An EventBridge delivery of ActionTrail `ecs:ActionTrail:ApiCall` for CreateImage (§4.1, §4.3)."""
    envelope = {
        "id": event_id or str(uuid.uuid4()),
        "source": "acs.ecs",
        "specversion": "1.0",
        "type": "ecs:ActionTrail:ApiCall",
        "subject": f"acs:ecs:{region}:{ACCOUNT_ID}:image/{image_id}",
        "time": "2026-11-21T08:00:00Z",
        "datacontenttype": "application/json;charset=utf-8",
        "aliyunaccountid": ACCOUNT_ID,
        "aliyunpublishtime": "2026-11-21T08:00:01.123Z",
        "aliyuneventbusname": "default",
        "aliyunregionid": region,
        "data": {
            "eventId": str(uuid.uuid4()),
            "eventVersion": 1,
            "eventRW": "Write",
            "eventType": "ApiCall",
            "eventName": "CreateImage",
            "serviceName": "Ecs",
            "acsRegion": region,
            "eventTime": "2026-11-21T08:00:00Z",
            "requestId": str(uuid.uuid4()).upper(),
            "userIdentity": {"type": "ram-user", "userName": "ops"},
            "requestParameters": {"RegionId": region, "ImageName": name, "InstanceId": "i-bp1demo000001"},
            "responseElements": {"ImageId": image_id, "RequestId": str(uuid.uuid4()).upper()},
            "referencedResources": {"ACS::ECS::Image": [image_id]},
        },
    }
    return json.dumps(envelope).encode()


def timer_event(trigger_time: str | None = None) -> bytes:
    """The FC timer payload (§4.4)."""
    return json.dumps({"triggerTime": trigger_time, "triggerName": "reconcile-every-5m", "payload": ""}
                      if trigger_time else {"triggerName": "reconcile-every-5m", "payload": ""}).encode()
