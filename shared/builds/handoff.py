"""Hand a finished build's image to the copy rules its build rule names, as if its CreateImage event had
arrived, with the build's lineage in the copies' provenance tags.

Why the named rules take the image whatever their ``match`` and ``source_regions``: the build rule names
them on purpose, and a built image's name (``<prefix>_<ExecutionId>``) rarely matches a pattern written for
hand-made images. A target in the build's own region is skipped unless the rule encrypts it there (ECS
copies within a region only to encrypt). The copy intents are ordinary ``copy/…`` records: the copy tick
starts, follows and retries them like any other, and the key (source image, target region) keeps one copy
per region even if two rules or two ticks hand the same image on.
"""
from __future__ import annotations

import datetime as dt

from shared.clouds.ecs_types import Image
from shared.ledger import Ledger
from shared.policy import ImageMatch, Policy
from shared.policy.builds import BuildRule
from shared.replication.executor import new_record
from shared.replication.targets import CopyTarget, targets_for

TAG_PIPELINE = "image-relay:pipeline"
TAG_EXECUTION = "image-relay:execution"


def copy_targets(policy: Policy, rule: BuildRule, image: Image, pipeline_id: str, execution_id: str) -> list[CopyTarget]:
    """The copies of ``image`` the build rule's copy rules ask for, each tagged with the build's lineage."""
    named = [r for r in (policy.copy_rule(n) for n in rule.copy_rules) if r is not None]
    taking = [r.model_copy(update={"source_regions": [image.region], "match": ImageMatch()}) for r in named]
    lineage = {TAG_PIPELINE: pipeline_id, TAG_EXECUTION: execution_id}
    return [
        t.model_copy(update={"tags": {**t.tags, **lineage}})
        for t in targets_for(Policy(copy_rules=taking, windows=policy.windows), image)
        if t.target_region != image.region or t.encrypted
    ]


def hand_off(ledger: Ledger, targets: list[CopyTarget], now: dt.datetime) -> int:
    """Write one PENDING copy intent per target (idempotent); return how many were new."""
    return sum(1 for target in targets if ledger.ensure(new_record(target, now))[1])
