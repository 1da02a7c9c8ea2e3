"""CopyImage / CancelCopyImage rules and the copy scheduler on the virtual clock.

Scheduling: a copy is ``Waiting`` while its destination region already has ``copy_slots`` copies
``Creating``; it then runs ``size_gib / copy_gib_per_minute`` minutes (rate read when the copy starts).
``settle(now)`` walks completions one event at a time so a freed slot starts the next copy (FIFO by creation)
at the exact virtual moment the previous one finished.

UNCONFIRMED choices:

* rule order: region checks, ClientToken replay, parameter format, image checks, KMS, name, quota, DryRun;
* without ``DestinationImageName`` the copy keeps the source image's name (duplicate check still applies);
* without ``DestinationDescription`` the description is ``Copied from <image> of <region>``;
* a ClientToken replay (same token, same parameters, scope account + CopyImage + source region) returns the
  recorded ImageId even if that image has since been deleted or cancelled; tokens never expire;
* the image quota counts every image the account owns in the destination, copies in progress included;
* a copy of an image owned by another account within its region is allowed (shared-image rule, §1.1);
* CancelCopyImage (API reference, error codes: https://www.alibabacloud.com/help/doc-detail/25539.html) on an
  image that was not created by CopyImage → 400 ``ImageCreatedNotFromCopy``; on a copy that already finished →
  400 ``IncorrectImageStatus`` "The image is copied finished."; cancelling also removes the destination
  snapshots the copy created (UNCONFIRMED);
* every disk of a copy gets a new destination snapshot (``s-<dest flavour>…``, Usage ``image``) that shows
  ``progressing`` with the copy's progress and ``accomplished`` once the copy is Available.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from emulator.core.errors import DryRunOperationError
from emulator.ecs import exceptions as exc
from emulator.ecs.models_base import BackendBase, CopyJob, Disk, Image, new_resource_id
from emulator.ecs.models_tags import validate_tags

MAX_COPY_SIZE_GIB = 2048
_NAME = re.compile(r"^[A-Za-z\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff.:_\-]{1,127}$")


@dataclass
class CopyRequest:
    """CopyImage parameters, already parsed from the wire."""

    source_region: str
    image_id: str
    destination_region: str
    name: str | None = None
    description: str | None = None
    encrypted: bool = False
    kms_key_id: str | None = None
    tags: list[tuple[str, str | None]] = field(default_factory=list)
    client_token: str | None = None
    dry_run: bool = False
    fingerprint: dict[str, str] = field(default_factory=dict)


def validate_image_name(name: str) -> None:
    """Apply the CopyImage/CreateImage naming rules (alibaba-api.md §1.1)."""
    lowered = name.lower()
    if (
        not _NAME.match(name)
        or lowered.startswith(("aliyun", "acs:", "http://", "https://"))
    ):
        raise exc.InvalidImageNameMalformedError()


def validate_description(description: str) -> None:
    """2–256 characters, not starting with http:// or https://."""
    if not 2 <= len(description) <= 256 or description.lower().startswith(("http://", "https://")):
        raise exc.InvalidDescriptionMalformedError()


def validate_client_token(token: str) -> None:
    """At most 64 ASCII characters (alibaba-api.md §2.3)."""
    if len(token) > 64 or not token.isascii():
        raise exc.InvalidClientTokenMalformedError()


class CopyMixin(BackendBase):
    """CopyImage, CancelCopyImage and the scheduler."""

    def copy_image(self, req: CopyRequest) -> str:
        """Validate and start a copy; return the new (or replayed) ImageId."""
        if not self.state.region_enabled(req.source_region):
            raise exc.SourceRegionNotFoundError()
        if not self.state.region_enabled(req.destination_region):
            raise exc.DestinationRegionNotFoundError()
        token_key = self._token_key(req)
        if token_key is not None and token_key in self.client_tokens:
            recorded, result = self.client_tokens[token_key]
            if recorded != req.fingerprint:
                raise exc.IdempotentParameterMismatchError()
            return result["ImageId"]
        source = self._check_copy(req)
        if req.dry_run:
            raise DryRunOperationError()
        image = self._start_copy(req, source)
        if token_key is not None:
            self.client_tokens[token_key] = (dict(req.fingerprint), {"ImageId": image.image_id})
        return image.image_id

    def _token_key(self, req: CopyRequest) -> tuple[str, str, str, str] | None:
        """Scope of a ClientToken: account + action + source region + token."""
        if req.client_token is None:
            return None
        validate_client_token(req.client_token)
        return (self.state.current_account, "CopyImage", req.source_region, req.client_token)

    def _check_copy(self, req: CopyRequest) -> Image:
        """Run every CopyImage rule in order; return the source image."""
        if req.name is not None:
            validate_image_name(req.name)
        if req.description is not None:
            validate_description(req.description)
        validate_tags(req.tags)
        if req.kms_key_id and not req.encrypted:
            raise exc.EncryptedIllegalError()
        source = self.image_in(req.source_region, req.image_id)
        if source is None:
            raise exc.InvalidImageIdNotFoundError()
        same_region = req.source_region == req.destination_region
        if source.owner_id != self.state.current_account and not same_region:
            raise exc.SameRegionOnlyError()
        if same_region and not req.encrypted:
            raise exc.IncorrectDestinationRegionError()
        if source.status != "Available":
            raise exc.IncorrectImageStatusError()
        if source.size_gib > MAX_COPY_SIZE_GIB:
            raise exc.SizeExceedImageError()
        if req.kms_key_id and not self.kms_key_ok(req.destination_region, req.kms_key_id):
            raise exc.KmsKeyNotFoundError()
        self._check_destination(req, source)
        return source

    def _check_destination(self, req: CopyRequest, source: Image) -> None:
        """Name uniqueness and quota in the destination region."""
        name = req.name or source.name
        owned = [i for i in self.region_images(req.destination_region) if i.owner_id == self.state.current_account]
        if any(i.name == name for i in owned):
            raise exc.InvalidImageNameDuplicatedError()
        if len(owned) >= self.state.config.image_quota:
            raise exc.QuotaExceedImageError()

    def _start_copy(self, req: CopyRequest, source: Image) -> Image:
        """Create the destination image (Waiting) and give it a slot if one is free."""
        dest = req.destination_region
        seq = self.next_seq()
        disks = [
            Disk(
                device=d.device,
                type=d.type,
                size_gib=d.size_gib,
                snapshot_id=new_resource_id("s", dest),
                encrypted=d.encrypted or req.encrypted,
                kms_key_id=req.kms_key_id or (d.kms_key_id if not req.encrypted else ""),
            )
            for d in source.disks
        ]
        image = Image(
            region=dest,
            image_id=new_resource_id("m", dest),
            name=req.name or source.name,
            size_gib=source.size_gib,
            owner_id=self.state.current_account,
            owner_alias="self",
            creation_time=self.now,
            seq=seq,
            description=req.description or f"Copied from {source.image_id} of {source.region}",
            status="Waiting",
            os_type=source.os_type,
            platform=source.platform,
            architecture=source.architecture,
            tags=validate_tags(req.tags),
            disks=disks,
            is_copied=True,
            kms_key_id=req.kms_key_id or "",
            copy=CopyJob(seq=seq, source_region=source.region, source_image_id=source.image_id),
        )
        self.images[image.image_id] = image
        self.add_image_snapshots(image)
        self._start_waiting(self.now)
        return image

    def cancel_copy_image(self, region: str, image_id: str) -> None:
        """Remove a copy in progress from its destination region and free its slot."""
        self.check_region(region)
        image = self.image_in(region, image_id)
        if image is None:
            raise exc.InvalidImageIdNotFoundError()
        if not image.is_copied:
            raise exc.ImageCreatedNotFromCopyError()
        if not image.copying:
            raise exc.IncorrectImageStatusError(message="The image is copied finished.")
        del self.images[image_id]
        for disk in image.disks:
            snapshot = self.snapshots.get(disk.snapshot_id)
            if snapshot is not None and snapshot.for_image == image_id:
                del self.snapshots[disk.snapshot_id]
        self._start_waiting(self.now)

    # --- scheduler -------------------------------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Process completions and slot hand-overs, one event at a time, up to ``now``."""
        while True:
            self._start_waiting(self._settled_at)
            event = self._next_event()
            if event is None or event > now:
                break
            self._settled_at = max(self._settled_at, event)
            self._complete_due(self._settled_at)
        self._settled_at = max(self._settled_at, now)

    def _next_event(self) -> float | None:
        """Return the earliest pending completion time (copies and seeded Creating images)."""
        times: list[float] = []
        for image in self.images.values():
            if image.status != "Creating":
                continue
            end = image.copy.end() if image.copy is not None else image.ready_at
            if end is not None:
                times.append(end)
        return min(times, default=None)

    def _complete_due(self, at: float) -> None:
        """Mark every image whose Creating phase ends at or before ``at`` Available (or CreateFailed when a
        CreateImage drew an injected failure)."""
        for image in self.images.values():
            end = image.copy.end() if image.copy is not None else image.ready_at
            if image.status == "Creating" and end is not None and end <= at:
                image.status = "CreateFailed" if image.fail_on_ready else "Available"

    def _start_waiting(self, at: float) -> None:
        """Start Waiting copies FIFO while their destination region has free slots."""
        slots = self.state.config.copy_slots
        waiting = sorted(
            (i for i in self.images.values() if i.status == "Waiting" and i.copy is not None),
            key=lambda i: i.copy.seq if i.copy else 0,
        )
        for image in waiting:
            running = sum(
                1 for i in self.images.values() if i.region == image.region and i.copying and i.status == "Creating"
            )
            if running >= slots or image.copy is None:
                continue
            image.copy.started_at = at
            image.copy.duration = image.size_gib / self.state.config.copy_gib_per_minute * 60.0
            image.status = "Creating"
