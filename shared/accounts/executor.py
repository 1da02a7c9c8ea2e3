"""Apply account-target steps on the kernel's executor base: one compare-and-set per move, one rule for
what a move keeps in ``data`` and what a failure records (``shared.apply.RecordExecutor``).

Exactly once, as the copy feature does it (shared/replication/executor.py): every cloud call is preceded by a
compare-and-set claim on the hop's record (of N racers one calls); the partner's CopyImage carries a
ClientToken derived from (key, attempt), so a repeat after a lost answer returns the same ImageId; and each
partner copy is born with provenance tags (the key, the source image and account), so a copy whose ledger
write was lost is found by its tag and adopted instead of copied twice. A share is idempotent in ECS (adding
an account already shared changes nothing), and the unshare is the last write of the share record.

A failure carries the reason a person can act on: the role that cannot be assumed, the image encrypted with a
key that cannot be shared, the partner's missing KMS key in a region.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from shared.accounts.hops import Hop, copy_key, hop_of
from shared.accounts.plan import CloseShare, Complete, Fail, Heal, Share, StartCopy
from shared.accounts.sharing import share_refusal, too_large
from shared.apply import RecordExecutor, Step
from shared.clouds.ecs_types import CopyImageSpec, Image, Snapshot
from shared.errors import CloudError
from shared.ledger.record import Record, State
from shared.logs import get_logger
from shared.replication.provenance import TAG_KEY
from shared.runtime import Deadline

log = get_logger(__name__)

_SHARE_REFUSALS = {
    "OperationDenied.EncryptedByServiceKey":
        "image {image} is encrypted with a key that cannot be shared (the ECS service key): re-encrypt it "
        "with a KMS key (a same-region encrypted copy) before it can go to account {account}",
    "QuotaExceed.ShareImageUser": "image {image} is already shared with the most accounts ECS allows (50)",
}
_COPY_REFUSALS = {
    "InvalidParameter.KMSKeyId.NotFound": "partner account {account} lacks KMS key {kms} in region {region}",
    "InvalidParameter.KMSKeyId.KMSUnauthorized":
        "ECS in partner account {account} may not use KMS key {kms} in region {region}",
}


class HomeEcs(Protocol):
    """What the flow needs of the source account's ECS adapter."""

    def get_image(self, region: str, image_id: str) -> Image | None: ...

    def share_image(self, region: str, image_id: str, *, add: list[str] | None = None,
                    remove: list[str] | None = None) -> None: ...

    def snapshots_by_id(self, region: str, snapshot_ids: list[str]) -> dict[str, Snapshot]: ...


class PartnerEcs(Protocol):
    """What the flow needs of a partner account's ECS adapter."""

    def get_image(self, region: str, image_id: str) -> Image | None: ...

    def list_images(self, region: str, **filters: Any) -> list[Image]: ...

    def copy_image(self, spec: CopyImageSpec) -> str: ...


class Sessions(Protocol):
    """`shared.clouds.sts.AccountSessions`: credentials per role, and the partner's ECS built from them."""

    def credentials(self, role_arn: str) -> Any: ...

    def ecs(self, role_arn: str) -> Any: ...


class AccountExecutor(RecordExecutor[Step]):
    """Runs account-target steps; `outcomes` counts what happened, for the summary."""

    kind = "account"

    def __init__(self, ecs: HomeEcs, sessions: Sessions, ledger: Any, *, now: Callable[[], dt.datetime],
                 source_account: str | None = None, deadline: Deadline | None = None) -> None:
        super().__init__(ledger, now=now, deadline=deadline)
        self.ecs = ecs
        self.sessions = sessions
        self.source_account = source_account

    def _apply_to(self, record: Record, step: Step) -> None:
        hop = hop_of(record)
        if isinstance(step, Share):
            self._share(record, hop, step.encrypted, step.size_gib)
        elif isinstance(step, StartCopy):
            self._start_copy(record, hop, step.from_image)
        elif isinstance(step, Heal):
            found = self.sessions.ecs(hop.role_arn).list_images(hop.region, tags={TAG_KEY: record.key})
            if found:
                self._move(record, "adopted", cloud_id=found[0].image_id)
            else:
                self._move(record, "requeued", state=State.PENDING)
        elif isinstance(step, Complete):
            self._move(record, "done", state=State.DONE, cloud_id=step.image_id, done_at=self.now().isoformat())
        elif isinstance(step, Fail):
            self._fail(record, step.reason)
        elif isinstance(step, CloseShare):
            if step.unshare:
                self.ecs.share_image(hop.source_region, hop.image_id, remove=[hop.account_id])
            self._move(record, "unshared" if step.unshare else "kept_shared", state=State.DONE,
                       shared=not step.unshare, closed_at=self.now().isoformat())
            log.info("accounts.share_closed", extra={"key": record.key, "unshared": step.unshare})

    def _share(self, record: Record, hop: Hop, encrypted: tuple[str, ...], size_gib: int) -> None:
        """What ECS would refuse is refused first (the image's key, the role): a refusal leaves no share behind.
        A partner already holding its first copy (found by its provenance tag: a lost ledger) needs no share."""
        from shared.clouds.sts import RoleAssumeError

        if self.source_account is not None and self.source_account == hop.account_id:
            self._fail(record, f"account {hop.account_id} is the source account itself; fix copy rule {hop.rule}")
            return
        big = too_large(hop.image_id, size_gib, hop.account_id) if hop.mode == "copy" else None
        if big is not None:
            self._fail(record, big)
            return
        if encrypted:
            keys = self.ecs.snapshots_by_id(hop.source_region, list(encrypted))
            refusal = share_refusal(hop.image_id, hop.source_region, hop.account_id, encrypted, keys)
            if refusal is not None:
                self._fail(record, refusal)
                return
        try:
            self.sessions.credentials(hop.role_arn)
        except RoleAssumeError as exc:
            self._fail(record, f"role {hop.role_arn} cannot be assumed ({exc.code}): the role must exist in "
                               f"account {hop.account_id} and trust this account")
            return
        if hop.mode == "copy" and self._partner_copy(hop, copy_key(hop.source_region, hop.image_id,
                                                                    hop.account_id, hop.source_region)):
            # the partner's first copy exists already: "shared" so the close still removes any share left
            self._move(record, "adopted", state=State.STARTED, shared=True, adopted_at=self.now().isoformat())
            log.info("accounts.share_not_needed", extra={"key": record.key, "account_id": hop.account_id})
            return
        claimed = record if record.state is State.STARTED else self._move(record, "claimed", state=State.STARTED,
                                                                            attempt=record.attempt + 1)
        try:
            self.ecs.share_image(hop.source_region, hop.image_id, add=[hop.account_id])
        except CloudError as exc:
            if exc.retryable:
                raise  # STARTED without "shared": the next tick repeats the (idempotent) share
            template = _SHARE_REFUSALS.get(exc.code or "", "ModifyImageSharePermission refused ({code}): {message}")
            self._fail(claimed, template.format(image=hop.image_id, account=hop.account_id, code=exc.code,
                                                message=exc.message))
            return
        self._move(claimed, "shared", shared=True, shared_at=self.now().isoformat())
        log.info("accounts.shared", extra={"key": record.key, "account_id": hop.account_id})

    def _partner_copy(self, hop: Hop, key: str) -> Image | None:
        """The partner's image born for ``key`` (its provenance tag), unless it failed."""
        found = self.sessions.ecs(hop.role_arn).list_images(hop.region or hop.source_region, tags={TAG_KEY: key})
        return next((i for i in found if i.status not in ("CreateFailed", "UnAvailable")), None)

    def _start_copy(self, record: Record, hop: Hop, from_image: str) -> None:
        """Adopt the partner's copy made for this key when there is one (the ledger lost it), else CopyImage."""
        from shared.clouds.sts import RoleAssumeError

        try:
            existing = self._partner_copy(hop, record.key)
        except RoleAssumeError as exc:
            self._fail(record, f"role {hop.role_arn} cannot be assumed ({exc.code})")
            return
        if existing is not None:
            self._move(record, "adopted", state=State.STARTED, cloud_id=existing.image_id)
            log.info("accounts.copy_adopted", extra={"key": record.key, "copy_image_id": existing.image_id})
            return
        attempt = record.attempt + 1
        claimed = self._move(record, "claimed", state=State.STARTED, attempt=attempt, cloud_id=None)
        try:
            image_id = self.sessions.ecs(hop.role_arn).copy_image(hop.spec(from_image, attempt,
                                                                           self.source_account or ""))
        except RoleAssumeError as exc:
            self._fail(claimed, f"role {hop.role_arn} cannot be assumed ({exc.code})")
            return
        except CloudError as exc:
            if exc.retryable:
                raise  # STARTED without an ImageId: Heal finds the copy by its tag, or re-queues it
            template = _COPY_REFUSALS.get(exc.code or "", "CopyImage in account {account} refused ({code}): "
                                                          "{message}")
            self._fail(claimed, template.format(account=hop.account_id, kms=hop.kms_key_id, region=hop.region,
                                                code=exc.code, message=exc.message))
            return
        self._move(claimed, "started", cloud_id=image_id)
        log.info("accounts.copy_started", extra={"key": record.key, "copy_image_id": image_id})
