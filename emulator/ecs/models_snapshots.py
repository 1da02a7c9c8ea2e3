"""CopySnapshot / DescribeSnapshots / DeleteSnapshot on the virtual clock (alibaba-api.md §1.7, §1.9).

A CopySnapshot copy exists at once in the destination region as ``progressing`` and becomes ``accomplished``
after ``size_gib / snapshot_gib_per_minute`` minutes (rate read when the copy starts; ``Progress`` is the
floor percent, ``"100%"`` only when accomplished). There is no 2 TiB limit for snapshots.

UNCONFIRMED choices:

* snapshot copies are **not** limited by the CopyImage ``copy_slots`` (nor by any slot): every copy starts
  at once and runs in parallel;
* rule order of CopySnapshot: RegionId (400 ``InvalidRegionId.NotFound``), DestinationRegionId (400
  ``DestinationRegion.NotFound``, as CopyImage), ClientToken replay, required SnapshotId /
  DestinationSnapshotName / DestinationSnapshotDescription (400 ``MissingParameter``: the SDK marks both
  names required), name (2–128, starts with a letter or Chinese character, not ``auto``, ``aliyun``,
  ``acs:``, ``http(s)://``; 400 ``InvalidSnapshotName.Malformed``), description (2–256, 400
  ``InvalidDescription.Malformed``), RetentionDays 1–65536 (400 ``InvalidParameter.RetentionDays``), tags,
  KMSKeyId without Encrypted (400 ``InvalidParameter.EncryptedIllegal``), snapshot exists in the source
  region and is owned by the account (404 ``InvalidSnapshotId.NotFound``), source ``accomplished`` (403
  ``IncorrectSnapshotStatus``), KMS key in the destination (404 ``InvalidParameter.KMSKeyId.NotFound``);
* a same-region copy is allowed (with or without Encrypted);
* encryption of the copy: ``Encrypted=true`` → encrypted with ``KMSKeyId`` (or the service key, KMSKeyId
  ``""``, when none is given); otherwise an encrypted source stays encrypted with the service key across
  regions and with its own key within its region; an unencrypted source stays unencrypted;
* ClientToken: same semantics as CopyImage (scope account + CopySnapshot + source region; a replay returns
  the recorded SnapshotId even if it was deleted since; other parameters → 400
  ``IdempotentParameterMismatch``; tokens never expire);
* DescribeSnapshots lists only the account's snapshots of the region, newest first; ``Status`` (default
  ``all``) must be ``progressing|accomplished|failed|all`` (400 ``InvalidStatus.ValueNotSupported``);
  ``SnapshotIds`` bad JSON or more than 100 ids → 400 ``InvalidSnapshotIds.Malformed``; also filters
  ``SnapshotName`` (exact), ``Usage`` (``image|none``), ``Encrypted`` and ``Tag.N`` (a Key without Value
  matches any value); paging is ``MaxResults`` (1–100, default 10) + ``NextToken`` (decimal offset of the
  next page, "" on the last); ``PageNumber``/``PageSize`` are ignored (answered as 1 / MaxResults); other
  filters (DiskId, InstanceId, SnapshotType, Category, KMSKeyId, Filter.N) and ``DryRun`` are ignored;
* ``Usage`` is ``image`` while an image of the region (not ``CreateFailed``) references the snapshot, else
  ``none``; ``SourceDiskId`` is ``""``; ``SourceDiskType`` is ``system``/``data``; ``RetentionDays`` is left
  out when not set; ``Available`` is true when accomplished;
* DeleteSnapshot has no RegionId in the SDK: the id is looked up in every region (a given RegionId must
  match, else 404). Missing / another account's → 404 ``InvalidSnapshotId.NotFound``; used by an image
  (not ``CreateFailed``) → 403 ``SnapshotCreatedImage`` even with ``Force`` (Force is about disks created
  from the snapshot, which the emulator does not model); once the image is deleted the snapshot can go; a
  ``progressing`` copy can be deleted (the copy stops).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from emulator.core.errors import InvalidParameterError, MissingParameterError
from emulator.ecs import exceptions as exc
from emulator.ecs.models_base import BackendBase, Snapshot, new_resource_id
from emulator.ecs.models_copy import validate_description
from emulator.ecs.models_tags import validate_tags

_NAME = re.compile(r"^[A-Za-z\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff.:_\-]{1,127}$")
STATUSES = ("progressing", "accomplished", "failed")
MAX_IDS = 100


@dataclass
class CopySnapshotRequest:
    """CopySnapshot parameters, already parsed from the wire."""

    source_region: str
    snapshot_id: str | None
    destination_region: str | None
    name: str | None = None
    description: str | None = None
    encrypted: bool = False
    kms_key_id: str | None = None
    retention_days: int | None = None
    tags: list[tuple[str, str | None]] = field(default_factory=list)
    client_token: str | None = None
    fingerprint: dict[str, str] = field(default_factory=dict)


@dataclass
class SnapshotFilter:
    """DescribeSnapshots filters."""

    region: str
    snapshot_ids: list[str] | None = None
    status: str | None = None
    name: str | None = None
    usage: str | None = None
    encrypted: bool | None = None
    tags: list[tuple[str, str | None]] = field(default_factory=list)


def validate_snapshot_name(name: str) -> None:
    """2–128 characters, starting with a letter; not ``auto``/``aliyun``/``acs:``/``http(s)://``."""
    lowered = name.lower()
    if not _NAME.match(name) or lowered.startswith(("auto", "aliyun", "acs:", "http://", "https://")):
        raise exc.InvalidSnapshotNameMalformedError()


class SnapshotsMixin(BackendBase):
    """CopySnapshot, DescribeSnapshots, DeleteSnapshot and the snapshot clock."""

    # --- views -----------------------------------------------------------------------------------------

    def snapshot_state(self, snap: Snapshot) -> tuple[str, int, int]:
        """Return (Status, progress percent, RemainTime seconds) at the virtual now."""
        image = self.images.get(snap.for_image) if snap.for_image else None
        if image is not None and image.status in ("Waiting", "Creating"):
            return "progressing", image.progress(self.now), image.remain_time(self.now)
        if snap.status == "progressing":
            if snap.duration <= 0:
                return "progressing", 0, 0
            done = math.floor((self.now - snap.creation_time) / snap.duration * 100)
            return "progressing", max(0, min(99, done)), max(0, math.ceil(snap.end - self.now))
        return snap.status, 100 if snap.status == "accomplished" else 0, 0

    def snapshot_usage(self, snap: Snapshot) -> str:
        """``image`` while an image keeps the snapshot in use, else ``none``."""
        return "image" if self.snapshot_users(snap) else "none"

    def own_snapshot(self, region: str, snapshot_id: str) -> Snapshot:
        """Return the account's snapshot of ``region`` or raise 404 ``InvalidSnapshotId.NotFound``."""
        snap = self.snapshots.get(snapshot_id)
        if snap is None or snap.region != region or snap.owner_id != self.state.current_account:
            raise exc.InvalidSnapshotIdNotFoundError()
        return snap

    # --- CopySnapshot ----------------------------------------------------------------------------------

    def copy_snapshot(self, req: CopySnapshotRequest) -> str:
        """Validate and start a snapshot copy; return the new (or replayed) SnapshotId."""
        self.check_region(req.source_region)
        if req.destination_region is None:
            raise MissingParameterError("DestinationRegionId")
        if not self.state.region_enabled(req.destination_region):
            raise exc.DestinationRegionNotFoundError()
        replay = self.replay_token("CopySnapshot", req.source_region, req.client_token, req.fingerprint)
        if replay is not None:
            return replay["SnapshotId"]
        dest = req.destination_region
        source = self._check_copy_snapshot(req, dest)
        if req.encrypted:
            encrypted, key = True, req.kms_key_id or ""
        else:
            same = dest == source.region
            encrypted, key = source.encrypted, (source.kms_key_id if same else "")
        copy = Snapshot(
            region=dest,
            snapshot_id=new_resource_id("s", dest),
            owner_id=self.state.current_account,
            name=req.name or "",
            size_gib=source.size_gib,
            disk_type=source.disk_type,
            creation_time=self.now,
            seq=self.next_seq(),
            description=req.description or "",
            status="progressing",
            encrypted=encrypted,
            kms_key_id=key,
            source_region=source.region,
            source_snapshot_id=source.snapshot_id,
            retention_days=req.retention_days,
            tags=validate_tags(req.tags),
            duration=source.size_gib / self.state.config.snapshot_gib_per_minute * 60.0,
        )
        self.snapshots[copy.snapshot_id] = copy
        result = {"SnapshotId": copy.snapshot_id}
        self.remember_token("CopySnapshot", req.source_region, req.client_token, req.fingerprint, result)
        return copy.snapshot_id

    def _check_copy_snapshot(self, req: CopySnapshotRequest, dest: str) -> Snapshot:
        """Run the CopySnapshot rules in order; return the source snapshot."""
        if req.snapshot_id is None:
            raise MissingParameterError("SnapshotId")
        if req.name is None:
            raise MissingParameterError("DestinationSnapshotName")
        if req.description is None:
            raise MissingParameterError("DestinationSnapshotDescription")
        validate_snapshot_name(req.name)
        validate_description(req.description)
        if req.retention_days is not None and not 1 <= req.retention_days <= 65536:
            raise InvalidParameterError(
                "RetentionDays", "must be between 1 and 65536", code="InvalidParameter.RetentionDays"
            )
        validate_tags(req.tags)
        if req.kms_key_id and not req.encrypted:
            raise exc.EncryptedIllegalError()
        source = self.own_snapshot(req.source_region, req.snapshot_id)
        if self.snapshot_state(source)[0] != "accomplished":
            raise exc.IncorrectSnapshotStatusError()
        if req.kms_key_id and not self.kms_key_ok(dest, req.kms_key_id):
            raise exc.KmsKeyNotFoundError()
        return source

    # --- DescribeSnapshots -----------------------------------------------------------------------------

    def describe_snapshots(self, f: SnapshotFilter) -> list[Snapshot]:
        """Return the account's snapshots of the region matching every filter, newest first."""
        self.check_region(f.region)
        status = (f.status or "all").lower()
        if status != "all" and status not in STATUSES:
            raise InvalidParameterError(
                "Status", "must be progressing, accomplished, failed or all", code="InvalidStatus.ValueNotSupported"
            )
        if f.snapshot_ids is not None and len(f.snapshot_ids) > MAX_IDS:
            raise exc.InvalidSnapshotIdsMalformedError()
        found = [
            s
            for s in self.snapshots.values()
            if s.region == f.region
            and s.owner_id == self.state.current_account
            and (f.snapshot_ids is None or s.snapshot_id in f.snapshot_ids)
            and (status == "all" or self.snapshot_state(s)[0] == status)
            and (f.name is None or s.name == f.name)
            and (f.usage is None or self.snapshot_usage(s) == f.usage)
            and (f.encrypted is None or s.encrypted == f.encrypted)
            and all(s.tags.get(k) == v if v is not None else k in s.tags for k, v in f.tags)
        ]
        return sorted(found, key=lambda s: (s.creation_time, s.seq), reverse=True)

    # --- DeleteSnapshot --------------------------------------------------------------------------------

    def delete_snapshot(self, region: str | None, snapshot_id: str, force: bool) -> None:
        """Delete a snapshot no image uses (``force`` does not override that)."""
        if region is not None:
            self.check_region(region)
        snap = self.snapshots.get(snapshot_id)
        if snap is None or snap.owner_id != self.state.current_account or (region is not None and snap.region != region):
            raise exc.InvalidSnapshotIdNotFoundError()
        del force  # Force concerns disks created from the snapshot, which are not modelled
        if self.snapshot_users(snap):
            raise exc.SnapshotCreatedImageError()
        del self.snapshots[snapshot_id]

    # --- clock -----------------------------------------------------------------------------------------

    def settle_snapshots(self, now: float) -> None:
        """Mark every CopySnapshot copy whose end is at or before ``now`` accomplished."""
        for snap in self.snapshots.values():
            if snap.status == "progressing" and snap.end <= now:
                snap.status = "accomplished"
