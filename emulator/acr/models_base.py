"""CR data classes, ids, lookups, seeding and the push control call. No HTTP here.

All methods run with ``State.lock`` held. Ids (UNCONFIRMED shapes): instance ``cri-``, namespace ``crn-``,
repository ``crr-``, sync task ``rst-``, sync batch ``rsb-``, sync rule ``crsr-``, each followed by 16
lower-case alphanumerics; a tag's ``ImageId`` is the sha256 hex of its digest.

Finance/government regions (UNCONFIRMED rule): a region id containing ``-finance-`` or ``-gov-``
(``cn-shanghai-finance-1``, ``cn-shenzhen-finance-1``, ``cn-beijing-gov-1``) is restricted; every other region
is public. Such ids are not in the default region catalog: enable them with the seed key ``regions``.

The ``cr:Artifact:PushCompleted`` event answered by the push control call is INFERRED (alibaba-api.md §4.2:
no published sample). Envelope of §4.1: ``id`` fresh uuid, ``source`` ``acs.cr``, ``specversion`` 1.0,
``subject`` ``acs.cr:<region>:<masked account>:<RepoId>``, ``time`` the virtual now in +08:00,
``aliyunpublishtime`` UTC with milliseconds, ``aliyunaccountid``/``aliyunoriginalaccountid`` the account with
its last 4 digits masked (``123456789012****``), ``aliyuneventbusname`` default, ``aliyunpublishaddr``
``172.25.XX.XX``. ``data`` keys (INFERRED): InstanceId, InstanceName, RegionId, RepoId, RepoNamespaceName,
RepoName, Tag, Digest, plus two keys a parser must ignore: ``ImageUpdate`` (``YYYY-MM-DD HH:MM:SS``, +08:00)
and ``ArtifactType`` (``DOCKER_IMAGE``).
"""

from __future__ import annotations

import hashlib
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from emulator.acr import exceptions as exc
from emulator.acr.seed import AcrPush, AcrSeed
from emulator.core.errors import SeedError
from emulator.core.state import parse_iso

if TYPE_CHECKING:
    from emulator.core.state import State

CST = timezone(timedelta(hours=8))
_ALNUM = string.ascii_lowercase + string.digits


def new_id(prefix: str) -> str:
    """Return ``<prefix>-`` + 16 random lower-case alphanumerics."""
    return f"{prefix}-" + "".join(secrets.choice(_ALNUM) for _ in range(16))


def is_restricted(region: str) -> bool:
    """True for a finance or government region (id contains ``-finance-`` or ``-gov-``)."""
    return "-finance-" in region or "-gov-" in region


def cst_text(epoch: float) -> str:
    """Format an epoch as ``2026-11-21 08:00:00`` in China Standard Time (+08:00)."""
    return datetime.fromtimestamp(epoch, tz=CST).strftime("%Y-%m-%d %H:%M:%S")


def ms(epoch: float) -> int:
    """Epoch seconds → integer milliseconds."""
    return int(epoch * 1000)


def mask_account(account_id: str) -> str:
    """``1234567890123456`` → ``123456789012****`` (as the published event samples show)."""
    return account_id[:-4] + "****" if len(account_id) > 4 else "****"


@dataclass
class AcrInstance:
    """An Enterprise Edition instance."""

    instance_id: str
    region: str
    name: str
    specification: str
    create_time: float
    owner: str = ""  # the account id that owns the instance (issue #13); "" only before seeding sets it


@dataclass
class Namespace:
    """A namespace of an instance."""

    instance_id: str
    name: str
    namespace_id: str
    create_time: float


@dataclass
class TagRecord:
    """One tag of a repository."""

    tag: str
    digest: str
    size_bytes: int
    created: float
    updated: float
    seq: int

    @property
    def image_id(self) -> str:
        """A stable image id derived from the digest."""
        return hashlib.sha256(self.digest.encode()).hexdigest()


@dataclass
class Repo:
    """A repository and its tags."""

    instance_id: str
    namespace: str
    name: str
    repo_id: str
    create_time: float
    modified_time: float
    tags: dict[str, TagRecord] = field(default_factory=dict)


class AcrBase:
    """State of the CR service and the lookups every mixin uses."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.reset()

    def reset(self) -> None:
        """Drop every CR resource."""
        self.instances: dict[str, AcrInstance] = {}
        self.namespaces: dict[tuple[str, str], Namespace] = {}
        self.repos: dict[str, Repo] = {}
        self._seq = 0
        self.reset_sync()

    def reset_sync(self) -> None:
        """Overridden by the sync mixin."""

    def next_seq(self) -> int:
        """A monotonically increasing sequence number (creation order)."""
        self._seq += 1
        return self._seq

    # --- lookups ---------------------------------------------------------------------------------------

    def instance(self, instance_id: str, region: str | None) -> AcrInstance:
        """Return the caller's instance; in proxy mode it must live in the host's ``region``. An instance of
        another account does not exist for the caller (per-account state, issue #13)."""
        inst = self.instances.get(instance_id)
        if (inst is None or (region is not None and inst.region != region)
                or inst.owner != self.state.current_account):
            raise exc.instance_not_exist(instance_id)
        return inst

    def namespace(self, instance_id: str, name: str) -> Namespace:
        """Return the namespace or raise NAMESPACE_NOT_EXIST."""
        ns = self.namespaces.get((instance_id, name))
        if ns is None:
            raise exc.namespace_not_exist(instance_id, name)
        return ns

    def repo_by_id(self, instance_id: str, repo_id: str) -> Repo:
        """Return the repository of the instance with this RepoId."""
        repo = self.repos.get(repo_id)
        if repo is None or repo.instance_id != instance_id:
            raise exc.repo_not_exist(repo_id)
        return repo

    def repo_by_name(self, instance_id: str, namespace: str, name: str) -> Repo | None:
        """Return the repository ``namespace/name`` of the instance, or None."""
        return next(
            (r for r in self.repos.values() if (r.instance_id, r.namespace, r.name) == (instance_id, namespace, name)),
            None,
        )

    def ensure_repo(self, instance_id: str, namespace: str, name: str, repo_id: str | None = None) -> Repo:
        """Return the repository, creating it (and its namespace) when absent."""
        now = self.state.clock.now()
        if (instance_id, namespace) not in self.namespaces:
            self.namespaces[(instance_id, namespace)] = Namespace(instance_id, namespace, new_id("crn"), now)
        repo = self.repo_by_name(instance_id, namespace, name)
        if repo is None:
            repo = Repo(instance_id, namespace, name, repo_id or new_id("crr"), now, now)
            self.repos[repo.repo_id] = repo
        return repo

    def put_tag(self, repo: Repo, tag: str, digest: str, size_bytes: int, when: float) -> TagRecord:
        """Create or update a tag (an update keeps the creation time)."""
        record = repo.tags.get(tag)
        if record is None:
            record = TagRecord(tag, digest, size_bytes, when, when, self.next_seq())
            repo.tags[tag] = record
        else:
            record.digest, record.size_bytes, record.updated, record.seq = digest, size_bytes, when, self.next_seq()
        repo.modified_time = when
        return record

    # --- seed ------------------------------------------------------------------------------------------

    def validate_seed(self, seed: AcrSeed, regions: list[str]) -> None:
        """Raise ``SeedError`` naming the field of a dangling reference."""
        instances = set(self.instances)
        for i, inst in enumerate(seed.acr_instances):
            if inst.region not in regions:
                raise SeedError(f"acr_instances.{i}.region", f"region {inst.region} is not enabled")
            instances.add(inst.instance_id)
        for i, ns in enumerate(seed.acr_namespaces):
            if ns.instance_id not in instances:
                raise SeedError(f"acr_namespaces.{i}.instance_id", f"unknown instance {ns.instance_id}")
        repos = {(r.instance_id, r.namespace, r.name) for r in self.repos.values()}
        for i, repo in enumerate(seed.acr_repos):
            if repo.instance_id not in instances:
                raise SeedError(f"acr_repos.{i}.instance_id", f"unknown instance {repo.instance_id}")
            if repo.repo_id is not None and not repo.repo_id.startswith("crr-"):
                raise SeedError(f"acr_repos.{i}.repo_id", "a repo_id starts with crr-")
            repos.add((repo.instance_id, repo.namespace, repo.name))
        for i, tag in enumerate(seed.acr_tags):
            if tag.instance_id not in instances:
                raise SeedError(f"acr_tags.{i}.instance_id", f"unknown instance {tag.instance_id}")
            if (tag.instance_id, tag.namespace, tag.repo) not in repos:
                raise SeedError(f"acr_tags.{i}.repo", f"unknown repository {tag.namespace}/{tag.repo}")
            if tag.pushed_at is not None:
                try:
                    parse_iso(tag.pushed_at)
                except ValueError:
                    raise SeedError(f"acr_tags.{i}.pushed_at", "not an ISO-8601 time") from None

    def apply_seed(self, seed: AcrSeed) -> None:
        """Add the seeded resources (an existing id is replaced)."""
        now = self.state.clock.now()
        for inst in seed.acr_instances:
            self.instances[inst.instance_id] = AcrInstance(
                inst.instance_id, inst.region, inst.name or inst.instance_id, inst.specification, now,
                owner=inst.account_id or self.state.account_id,
            )
        for ns in seed.acr_namespaces:
            self.namespaces.setdefault((ns.instance_id, ns.name), Namespace(ns.instance_id, ns.name, new_id("crn"), now))
        for repo in seed.acr_repos:
            self.ensure_repo(repo.instance_id, repo.namespace, repo.name, repo.repo_id)
        for tag in seed.acr_tags:
            target = self.ensure_repo(tag.instance_id, tag.namespace, tag.repo)
            when = parse_iso(tag.pushed_at) if tag.pushed_at else now
            self.put_tag(target, tag.tag, tag.digest, tag.size_bytes, when)

    # --- push ------------------------------------------------------------------------------------------

    def push(self, push: AcrPush) -> tuple[dict[str, Any], list[str]]:
        """Push a tag; return the PushCompleted CloudEvent and the ids of PASSIVE tasks it started."""
        inst = self.instances.get(push.instance_id)
        if inst is None:
            raise exc.instance_not_exist(push.instance_id)
        now = self.state.clock.now()
        repo = self.ensure_repo(inst.instance_id, push.namespace, push.repo)
        self.put_tag(repo, push.tag, push.digest, push.size_bytes, now)
        tasks = self.on_push(inst, repo, push.tag)
        return self.push_event(inst, repo, push.tag, push.digest, now), tasks

    def is_home(self, inst: AcrInstance) -> bool:
        """True for an instance of the home account (only its pushes reach the home event bus)."""
        return inst.owner == self.state.account_id

    def on_push(self, inst: AcrInstance, repo: Repo, tag: str) -> list[str]:
        """Overridden by the sync mixin (PASSIVE rules)."""
        return []

    def push_event(self, inst: AcrInstance, repo: Repo, tag: str, digest: str, now: float) -> dict[str, Any]:
        """Build the INFERRED ``cr:Artifact:PushCompleted`` CloudEvent."""
        account = mask_account(inst.owner or self.state.account_id)
        moment = datetime.fromtimestamp(now, tz=CST)
        published = datetime.fromtimestamp(now, tz=timezone.utc)
        return {
            "id": str(uuid.uuid4()),
            "source": "acs.cr",
            "specversion": "1.0",
            "type": "cr:Artifact:PushCompleted",
            "subject": f"acs.cr:{inst.region}:{account}:{repo.repo_id}",
            "time": moment.isoformat(timespec="seconds"),
            "datacontenttype": "application/json;charset=utf-8",
            "aliyunaccountid": account,
            "aliyunoriginalaccountid": account,
            "aliyunpublishtime": published.strftime("%Y-%m-%dT%H:%M:%S.") + f"{published.microsecond // 1000:03d}Z",
            "aliyuneventbusname": "default",
            "aliyunregionid": inst.region,
            "aliyunpublishaddr": "172.25.XX.XX",
            "data": {
                "InstanceId": inst.instance_id,
                "InstanceName": inst.name,
                "RegionId": inst.region,
                "RepoId": repo.repo_id,
                "RepoNamespaceName": repo.namespace,
                "RepoName": repo.name,
                "Tag": tag,
                "Digest": digest,
                "ImageUpdate": cst_text(now),
                "ArtifactType": "DOCKER_IMAGE",
            },
        }
