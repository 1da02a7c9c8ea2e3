"""From a pushed tag and the ACR rules to the sync tasks it should have: one per target instance."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.clouds.acr_types import SyncTask, SyncTaskSpec
from shared.context import Payload
from shared.ledger.keys import acr_key
from shared.policy import Policy


class TagRef(BaseModel):
    """A tag in a source instance, as confirmed by ListRepoTag."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    region: str
    instance_id: str
    namespace: str
    repository: str
    repo_id: str
    tag: str
    digest: str = ""


class SyncTarget(Payload):
    """One desired sync task; stored as the ledger record's `data["target"]`."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    key: str
    rule: str
    source: TagRef
    target_instance: str
    target_region: str
    target_namespace: str
    target_repository: str
    override: bool = False
    target_account: str | None = None  # an instance of another account (issue #13): TargetUserId

    def spec(self) -> SyncTaskSpec:
        """The CreateRepoSyncTask call for this target."""
        return SyncTaskSpec(
            region=self.source.region, instance_id=self.source.instance_id, repo_id=self.source.repo_id,
            tag=self.source.tag, target_region=self.target_region, target_instance_id=self.target_instance,
            target_namespace=self.target_namespace, target_repository=self.target_repository,
            target_tag=self.source.tag, override=self.override, target_user_id=self.target_account)

    def is_task_for(self, task: SyncTask) -> bool:
        """True when `task` replicates this tag to this target (so it can be adopted)."""
        return (task.target.instance_id == self.target_instance and task.target.tag == self.source.tag
                and task.target.namespace == self.target_namespace
                and task.target.repository == self.target_repository
                and task.cross_user == (self.target_account is not None))


def targets_for(policy: Policy, ref: TagRef) -> list[SyncTarget]:
    """Every sync target of a tag (this account's instances and other accounts'), first rule winning per
    (account, target instance)."""
    chosen: dict[tuple[str | None, str], SyncTarget] = {}
    for rule in policy.acr_rules_for(ref.instance_id, ref.namespace, ref.repository, ref.tag):
        for account, target in rule.all_targets():
            if (account, target.instance_id) in chosen:
                continue
            namespace, repository = rule.target_names(ref.namespace, ref.repository, target)
            chosen[(account, target.instance_id)] = SyncTarget(
                key=acr_key(ref.instance_id, ref.namespace, ref.repository, ref.tag, target.instance_id, account),
                rule=rule.name, source=ref, target_instance=target.instance_id, target_region=target.region,
                target_namespace=namespace, target_repository=repository, override=rule.override,
                target_account=account)
    return list(chosen.values())
