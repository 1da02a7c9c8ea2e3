"""The manifest written next to an export's image files, and how a finished export is explained.

The manifest is written with create-if-absent (never overwrite, invariant 4), so a repeated
conclusion of the same task is harmless. Its name shares the objects' prefix, so a listing of
`<prefix>_<image>_` finds it; that listing is the second guard against exporting an image twice.
"""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.clouds.ecs_types import ExportTask
from shared.exports.targets import ExportTarget, produced_format

MANIFEST_SUFFIX = "_manifest.json"


class ExportedObject(BaseModel):
    """One OSS object the export wrote."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    key: str
    size: int


class Manifest(BaseModel):
    """What was exported, where, and when."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    image_id: str
    image_name: str
    region: str
    format: str  # the format ECS produced (RAW where ImageFormat is not honoured)
    requested_format: str = ""  # the rule's format
    bucket: str
    rule: str
    task_id: str
    objects: tuple[ExportedObject, ...]
    started_at: str
    finished_at: str
    lineage: dict[str, str] = {}  # an Image Builder build's image: its pipeline and execution (issue #14)

    def to_bytes(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True).encode()


def manifest_key(target: ExportTarget, task_id: str) -> str:
    """`<prefix>_<image>_<task>_manifest.json`: beside the image files, which ECS names the same way."""
    return f"{target.object_prefix}{task_id}{MANIFEST_SUFFIX}"


def build_manifest(target: ExportTarget, task: ExportTask, sizes: dict[str, int], started_at: str) -> Manifest:
    """The manifest of a finished task; `sizes` maps each object name to its size in bytes."""
    return Manifest(
        image_id=target.image_id,
        image_name=target.image_name,
        region=target.region,
        format=(task.image_format or produced_format(target.region, target.image_format)).lower(),
        requested_format=target.image_format,
        bucket=target.bucket,
        rule=target.rule,
        task_id=task.task_id,
        objects=tuple(ExportedObject(key=name, size=sizes.get(name, 0)) for name in task.objects),
        started_at=started_at or task.creation_time,
        finished_at=task.finished_time,
        lineage=dict(target.lineage),
    )


_FAILURES: dict[str, str] = {
    "IMAGE_ALREADY_EXIST": "an object of the export's name already exists in bucket {bucket}; image-relay never "
                           "overwrites: move or delete it, then export the image again",
}


def failure_reason(target: ExportTarget, task: ExportTask) -> str:
    """A reason a person can act on for a failed task."""
    hint = _FAILURES.get(task.error_code)
    detail = hint.format(bucket=target.bucket) if hint else (task.error_message or "no detail given")
    return f"export task {task.task_id} failed [{task.error_code or task.status}]: {detail}"


def manifest_summary(manifest: Manifest) -> dict[str, Any]:
    """The part of a manifest kept in the ledger record."""
    return {"objects": [o.model_dump() for o in manifest.objects]}
