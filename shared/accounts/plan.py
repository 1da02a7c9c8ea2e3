"""The pure planner of account targets: from one target's records and what was observed, the next steps.

Order of hops (issue #13): share → the partner's copy in the source region (from the shared image) → the
partner's copies in its target regions (from that copy) → unshare once the first copy is final (Available,
or failed: no share is ever left behind), unless ``keep_shared``; in ``mode: share`` the share is the delivery
and stays. A share that failed fails every hop of the target with the same reason.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.accounts.hops import hop_of
from shared.accounts.sharing import encrypted_snapshots
from shared.apply import Step, at_version
from shared.clouds.ecs_types import Image
from shared.ledger.record import Record, State


@dataclass(frozen=True)
class Share(Step):
    """Check what ECS would refuse (an unshareable key, the role), then share the source image with the partner
    (ModifyImageSharePermission AddAccount). ``encrypted``: the snapshot ids of the image's encrypted disks;
    ``size_gib``: the image's size (a partner copies only with CopyImage, which stops at 2 TiB)."""

    encrypted: tuple[str, ...] = ()
    size_gib: int = 0


@dataclass(frozen=True)
class StartCopy(Step):
    """The partner's CopyImage from ``from_image`` (the shared image, or the partner's first copy)."""

    from_image: str


@dataclass(frozen=True)
class Heal(Step):
    """A copy claimed but without an ImageId (a crash or lost answer): find it by its provenance tag."""


@dataclass(frozen=True)
class Complete(Step):
    """The partner's copy is Available."""

    image_id: str


@dataclass(frozen=True)
class Fail(Step):
    """The hop cannot succeed; ``reason`` says what a person should do."""

    reason: str


@dataclass(frozen=True)
class CloseShare(Step):
    """End the share record: unshare (RemoveAccount) or keep the share (``keep_shared``, ``mode: share``)."""

    unshare: bool


def plan_target(share: Record, copies: list[Record], source: Image | None,
                partner: dict[str, Image | None]) -> list[Step]:
    """Steps for one (source image, account) target. ``partner`` maps a STARTED copy's key to the partner's
    image as observed (None: gone); keys absent were not observed this tick."""
    hop = hop_of(share)
    shared = bool(share.data.get("shared"))
    steps: list[Step] = []
    if share.state is State.FAILED:
        return [at_version(Fail(c.key, f"{share.reason}"), c) for c in copies if c.is_active]
    first = next((c for c in copies if hop_of(c).first), None)
    if hop.mode == "copy" and first is None:
        # the copy hops are not recorded yet (an event whose invocation died between its writes; its redelivery
        # records them): share nothing, close nothing. Found by the chaos suite: a share closed "kept" here
        # stranded the copies recorded later, and left the image shared.
        return []
    if share.state is State.PENDING or (share.state is State.STARTED and not shared):
        if source is not None and source.status == "Available":
            steps.append(at_version(Share(share.key, encrypted=encrypted_snapshots(source),
                                                 size_gib=source.size_gib), share))
        elif source is not None and source.status in ("CreateFailed", "UnAvailable", "Deprecated"):
            steps.append(at_version(Fail(share.key, f"source image {hop.image_id} is {source.status}"), share))
        return steps
    if hop.mode == "share" or first is None:
        return [at_version(CloseShare(share.key, unshare=False), share)] if share.state is State.STARTED else []
    for record in copies:
        steps += _plan_copy(record, first, partner, shared_now=share.state is State.STARTED)
    if share.state is State.STARTED and first.state in (State.DONE, State.FAILED, State.CANCELLED):
        keep = hop.keep_shared and first.state is State.DONE
        steps.append(at_version(CloseShare(share.key, unshare=not keep), share))
    return steps


def _plan_copy(record: Record, first: Record, partner: dict[str, Image | None], *, shared_now: bool) -> list[Step]:
    hop = hop_of(record)
    if record.state is State.PENDING:
        if hop.first:
            return [at_version(StartCopy(record.key, from_image=hop.image_id), record)] if shared_now else []
        if first.state is State.DONE and first.cloud_id:
            return [at_version(StartCopy(record.key, from_image=first.cloud_id), record)]
        if first.state in (State.FAILED, State.CANCELLED):
            return [at_version(Fail(record.key, f"the partner's first copy did not succeed: {first.reason}"), record)]
        return []
    if record.state is not State.STARTED:
        return []
    if not record.cloud_id:
        return [at_version(Heal(record.key), record)]
    if record.key not in partner:
        return []
    image = partner[record.key]
    if image is None:
        return [at_version(Fail(record.key, f"the partner's copy {record.cloud_id} in {hop.region} is gone"),
                           record)]
    if image.status == "Available":
        return [at_version(Complete(record.key, image_id=image.image_id), record)]
    if image.status in ("CreateFailed", "UnAvailable"):
        return [at_version(Fail(record.key, f"the partner's copy {image.image_id} in {hop.region} ended "
                                            f"{image.status}"), record)]
    return []
