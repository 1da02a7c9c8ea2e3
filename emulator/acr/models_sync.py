"""Repository sync: CreateRepoSyncTask, sync rules (PASSIVE rules fire on push) and the task clock.

A task is ``PENDING`` for the first 10 % of ``acr_sync_seconds`` (``POST /_emulator/config``, default 60 s of
virtual time), ``SYNCHRONIZING`` until ``acr_sync_seconds`` after creation, then ``SUCCESS`` (the target tag
now carries the source digest; the target repository is created if absent) or ``ERROR``. ``settle(now)``
finishes tasks in (end time, creation) order.

UNCONFIRMED choices:

* check order of CreateRepoSyncTask: parameters, source instance (in the host's region), Advanced edition,
  repository, tag, target instance (must be in ``TargetRegionId``), public→finance/gov, target namespace;
* a missing target repository is auto-created when the task succeeds (the target namespace must exist when
  the task is created);
* the digest synced is the source tag's digest when the task is *created*;
* ``Override=false`` (the default) and a different digest already at the target tag when the task finishes:
  the task ends ``ERROR`` with TaskIssue ``TAG_ALREADY_EXIST: target tag <tag> exists with a different digest
  and Override is false``; the target is left unchanged. The same digest is a SUCCESS;
* ``acr_error_rate``: one draw per task at creation from ``random.Random(<faults seed>)`` (restarted whenever
  the fault plan is replaced), no draw while the rate is 0; a drawn task ends ``ERROR`` with TaskIssue
  ``SYNC_FAILED: injected by acr_error_rate`` and does not touch the target;
* a sync rule needs an Advanced source, an existing target instance in ``TargetRegionId``, the public→finance
  rule, and for REPO/NAMESPACE scope an existing target namespace; REPO scope needs NamespaceName, RepoName,
  TargetNamespaceName, TargetRepoName, NAMESPACE scope NamespaceName and TargetNamespaceName;
* on push, every PASSIVE rule of the pushed instance whose scope matches (REPO: same namespace and repo;
  NAMESPACE: same namespace and ``RepoNameFilter``; INSTANCE: ``NamespaceNameFilter`` and ``RepoNameFilter``;
  filters are full-match regexes, empty = all) and whose ``TagFilter`` full-matches the tag creates one
  PASSIVE task (``Override=true``, the rule's Priority, same tag name; target repo = TargetRepoName for REPO
  scope, else the source repo name; target namespace = TargetNamespaceName, or the source namespace for
  INSTANCE scope); all tasks of one push share one ``SyncBatchTaskId``. A rule task whose target namespace is
  missing when it finishes ends ERROR (``NAMESPACE_NOT_EXIST: …``);
* ListRepoSyncTask lists tasks of the *source* instance, newest first; ListRepoSyncRule lists a rule on its
  source instance with ``SyncDirection FROM`` and on its target instance with ``TO``; Local*/Target* fields
  describe the rule as created (Local = source) in both views;
* ``CreateTime``/``ModifiedTime``/``ModifedTime`` are integer milliseconds.

Cross-account sync (issue #13). What the documentation says:

* CreateRepoSyncTask and CreateRepoSyncRule take an optional ``TargetUserId``: "the UID of the account the
  target instance belongs to"; CreateRepoSyncRule adds "needed when syncing images across accounts" (API
  reference, help.aliyun.com/document_detail/308342 and .../acr/developer-reference/api-cr-2018-12-01-
  createreposyncrule; ``ALIYUN::CR::RepoSyncRule`` in ROS has the same ``TargetUserId`` property). The
  other target parameters (``TargetInstanceId``, ``TargetRegionId``, namespace, repository, tag) are unchanged.
* Answers carry ``CrossUser`` (boolean) on ListRepoSyncTask, GetRepoSyncTask and ListRepoSyncRule items
  (``alibabacloud_cr20181201`` 2.2.5 response models). No response field carries the target's user id.
* The guide "Synchronize instances across accounts" (alibabacloud.com/help/en/acr/user-guide/synchronize-
  instances-across-accounts): the source must be Advanced edition, the destination may be Basic or Advanced;
  no public → finance/government replication; the destination account (B) "creates a RAM role and access
  policy that allows Account A to replicate images into its instance", the source account (A) creates the
  rule or task. Same-account sync needs no authorisation.
* The documented error table of both actions: 403 ``NoPrivilege`` "Access denied for this user."

UNCONFIRMED choices (the guide's role name and policy document were not found in the searchable docs):

* the grant is checked as "the target account has a RAM role whose trust policy names the calling
  account" (the seed's ``accounts[].roles[].trusted_accounts``); the role's name and its permission
  policy are not checked (the emulator's roles have no policies);
* check order: ``TargetUserId`` format (16 digits, else ``PARAM_INVALID``), then the grant (missing → HTTP
  403 ``NoPrivilege`` "Access denied for this user.", the documented code, as a JSON error, not an
  ``IsSuccess: false`` body), then the target instance, which must belong to ``TargetUserId`` and be in
  ``TargetRegionId`` (else ``INSTANCE_NOT_EXIST``), then the existing edition/region/namespace checks;
* without ``TargetUserId`` the target must belong to the caller: another account's instance is
  ``INSTANCE_NOT_EXIST`` (per-account state); ``TargetUserId`` equal to the caller's own id is a
  same-account sync (``CrossUser`` false, no grant needed);
* ``CrossUser`` is true exactly when ``TargetUserId`` names another account; a rule's ``TargetUserId``
  passes to the tasks it starts (on push and CreateRepoSyncTaskByRule); a revoked grant does not stop a
  task already created.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from emulator.acr import exceptions as exc
from emulator.acr.models_base import AcrBase, AcrInstance, Repo, is_restricted, new_id
from emulator.core.errors import EmulatorError

PENDING_SHARE = 0.1
TAG_CONFLICT = "TAG_ALREADY_EXIST: target tag {tag} exists with a different digest and Override is false"
INJECTED = "SYNC_FAILED: injected by acr_error_rate"
USER_ID = re.compile(r"^\d{16}\Z")


class NoPrivilegeError(EmulatorError):
    """The target account has not authorised the caller (documented code and message of the sync actions)."""

    code = "NoPrivilege"
    status = 403
    message = "Access denied for this user."


@dataclass
class ImageRef:
    """One side of a sync task (ImageFrom / ImageTo)."""

    instance_id: str
    region: str
    namespace: str
    repo: str
    tag: str


@dataclass
class SyncTask:
    """A repository sync task."""

    task_id: str
    batch_id: str
    rule_id: str
    trigger: str
    source: ImageRef
    target: ImageRef
    digest: str
    size_bytes: int
    override: bool
    priority: int
    created: float
    duration: float
    seq: int
    fail_injected: bool = False
    target_user: str = ""
    cross_user: bool = False
    done: bool = False
    status: str = "PENDING"
    issue: str = ""
    modified: float = 0.0

    def status_at(self, now: float) -> str:
        """Status at virtual time ``now`` (terminal states are set by ``settle``)."""
        if self.done:
            return self.status
        return "PENDING" if now < self.created + PENDING_SHARE * self.duration else "SYNCHRONIZING"


@dataclass
class SyncRule:
    """A repository sync rule."""

    rule_id: str
    name: str
    scope: str
    trigger: str
    tag_filter: str
    namespace_filter: str
    repo_filter: str
    local: AcrInstance
    local_namespace: str
    local_repo: str
    target: AcrInstance
    target_namespace: str
    target_repo: str
    priority: int
    created: float
    target_user: str = ""
    cross_user: bool = False


@dataclass
class SyncTaskRequest:
    """CreateRepoSyncTask parameters, parsed."""

    instance_id: str
    repo_id: str
    tag: str
    target_region: str
    target_instance_id: str
    target_namespace: str
    target_repo: str
    target_tag: str
    override: bool
    priority: int
    target_user: str = ""


@dataclass
class SyncRuleRequest:
    """CreateRepoSyncRule parameters, parsed."""

    instance_id: str
    name: str
    scope: str
    tag_filter: str
    target_instance_id: str
    target_region: str
    namespace: str
    repo: str
    target_namespace: str
    target_repo: str
    trigger: str
    namespace_filter: str
    repo_filter: str
    priority: int
    target_user: str = ""


def _compile(name: str, pattern: str) -> re.Pattern[str]:
    """Compile a filter regex or raise PARAM_INVALID."""
    try:
        return re.compile(pattern)
    except re.error:
        raise exc.param_invalid(f"{name} is not a valid regular expression") from None


def _match(pattern: str, value: str) -> bool:
    """Full-match ``value``; an empty pattern matches everything."""
    return not pattern or re.fullmatch(pattern, value) is not None


class SyncMixin(AcrBase):
    """Sync tasks and rules."""

    def reset_sync(self) -> None:
        """Drop every task and rule."""
        self.tasks: dict[str, SyncTask] = {}
        self.rules: dict[str, SyncRule] = {}
        self._rng_plan: object | None = None
        self._rng = random.Random(0)

    def _inject_error(self) -> bool:
        """Draw whether a new task fails (seeded by the fault plan's seed)."""
        rate = self.state.config.acr_error_rate
        if rate <= 0:
            return False
        plan = self.state.faults.config
        if self._rng_plan is not plan:
            self._rng_plan = plan
            self._rng = random.Random(plan.seed)
        return self._rng.random() < rate

    def _target_instance(self, instance_id: str, region: str, target_user: str = "") -> AcrInstance:
        """The target instance of ``target_user`` (default: the caller) in the target region; another
        account must have granted the caller (module docstring, cross-account sync)."""
        caller = self.state.current_account
        if target_user and not USER_ID.match(target_user):
            raise exc.param_invalid("TargetUserId must be a 16-digit account id")
        owner = target_user or caller
        if owner != caller and not self._granted(owner, caller):
            raise NoPrivilegeError()
        inst = self.instances.get(instance_id)
        if inst is None or inst.region != region or inst.owner != owner:
            raise exc.instance_not_exist(instance_id)
        return inst

    def _granted(self, target_account: str, caller: str) -> bool:
        """Does ``target_account`` have a RAM role whose trust policy names ``caller``?"""
        account = self.state.registry.accounts.get(target_account)
        return account is not None and any(caller in trusted for trusted in account.roles.values())

    def _check_pair(self, source: AcrInstance, target: AcrInstance) -> None:
        """Advanced source edition and no public → finance/gov replication."""
        if source.specification != "Enterprise_Advanced":
            raise exc.specification_not_support(source.instance_id, source.specification)
        if is_restricted(target.region) and not is_restricted(source.region):
            raise exc.cross_region_not_allowed(source.region, target.region)

    def create_sync_task(self, req: SyncTaskRequest, region: str | None) -> str:
        """Validate and start a manual (INITIATIVE) sync task; return its id."""
        source = self.instance(req.instance_id, region)
        if source.specification != "Enterprise_Advanced":
            raise exc.specification_not_support(source.instance_id, source.specification)
        repo = self.repo_by_id(source.instance_id, req.repo_id)
        record = repo.tags.get(req.tag)
        if record is None:
            raise exc.tag_not_exist(req.tag)
        target = self._target_instance(req.target_instance_id, req.target_region, req.target_user)
        self._check_pair(source, target)
        self.namespace(target.instance_id, req.target_namespace)
        task = self._start(
            source, repo, req.tag, ImageRef(target.instance_id, target.region, req.target_namespace,
                                            req.target_repo, req.target_tag),
            batch_id=new_id("rsb"), rule_id="", trigger="INITIATIVE", override=req.override, priority=req.priority,
            target_user=req.target_user,
        )
        return task.task_id

    def _start(
        self, source: AcrInstance, repo: Repo, tag: str, target: ImageRef, *, batch_id: str, rule_id: str,
        trigger: str, override: bool, priority: int, target_user: str = "",
    ) -> SyncTask:
        """Record a new PENDING task (``CrossUser`` when the target belongs to another account)."""
        record = repo.tags[tag]
        now = self.state.clock.now()
        task = SyncTask(
            task_id=new_id("rst"), batch_id=batch_id, rule_id=rule_id, trigger=trigger,
            source=ImageRef(source.instance_id, source.region, repo.namespace, repo.name, tag), target=target,
            digest=record.digest, size_bytes=record.size_bytes, override=override, priority=priority,
            created=now, duration=float(self.state.config.acr_sync_seconds), seq=self.next_seq(),
            fail_injected=self._inject_error(), modified=now, target_user=target_user,
            cross_user=self.instances[target.instance_id].owner != source.owner,
        )
        self.tasks[task.task_id] = task
        return task

    def get_sync_task(self, instance_id: str, task_id: str, region: str | None) -> SyncTask:
        """Return a task of the (source) instance."""
        self.instance(instance_id, region)
        task = self.tasks.get(task_id)
        if task is None or task.source.instance_id != instance_id:
            raise exc.sync_task_not_exist(task_id)
        return task

    def list_sync_tasks(
        self, instance_id: str, region: str | None, namespace: str | None, repo: str | None, tag: str | None,
        batch_id: str | None,
    ) -> list[SyncTask]:
        """Tasks of the source instance matching the filters, newest first."""
        self.instance(instance_id, region)
        found = [
            t for t in self.tasks.values()
            if t.source.instance_id == instance_id
            and namespace in (None, t.source.namespace)
            and repo in (None, t.source.repo)
            and tag in (None, t.source.tag)
            and batch_id in (None, t.batch_id)
        ]
        return sorted(found, key=lambda t: (t.created, t.seq), reverse=True)

    # --- rules -----------------------------------------------------------------------------------------

    def create_sync_rule(self, req: SyncRuleRequest, region: str | None) -> str:
        """Validate and record a sync rule; return its id."""
        source = self.instance(req.instance_id, region)
        if req.scope not in ("REPO", "NAMESPACE", "INSTANCE"):
            raise exc.param_invalid("SyncScope must be REPO, NAMESPACE or INSTANCE")
        if req.trigger not in ("PASSIVE", "INITIATIVE"):
            raise exc.param_invalid("SyncTrigger must be PASSIVE or INITIATIVE")
        needed = {"REPO": ("NamespaceName", "RepoName", "TargetNamespaceName", "TargetRepoName"),
                  "NAMESPACE": ("NamespaceName", "TargetNamespaceName"), "INSTANCE": ()}[req.scope]
        values = {"NamespaceName": req.namespace, "RepoName": req.repo,
                  "TargetNamespaceName": req.target_namespace, "TargetRepoName": req.target_repo}
        missing = [n for n in needed if not values[n]]
        if missing:
            raise exc.param_invalid(f"{', '.join(missing)} required for SyncScope {req.scope}")
        for name, pattern in (("TagFilter", req.tag_filter), ("NamespaceNameFilter", req.namespace_filter),
                              ("RepoNameFilter", req.repo_filter)):
            _compile(name, pattern)
        target = self._target_instance(req.target_instance_id, req.target_region, req.target_user)
        self._check_pair(source, target)
        if req.scope != "INSTANCE":
            self.namespace(target.instance_id, req.target_namespace)
        rule = SyncRule(
            rule_id=new_id("crsr"), name=req.name, scope=req.scope, trigger=req.trigger, tag_filter=req.tag_filter,
            namespace_filter=req.namespace_filter, repo_filter=req.repo_filter, local=source,
            local_namespace=req.namespace, local_repo=req.repo, target=target,
            target_namespace=req.target_namespace, target_repo=req.target_repo, priority=req.priority,
            created=self.state.clock.now(), target_user=req.target_user, cross_user=target.owner != source.owner,
        )
        self.rules[rule.rule_id] = rule
        return rule.rule_id

    def list_sync_rules(
        self, instance_id: str, region: str | None, namespace: str | None, repo: str | None,
        target_instance: str | None, target_region: str | None,
    ) -> list[tuple[SyncRule, str]]:
        """Rules of the instance with their direction (FROM on the source, TO on the target), oldest first."""
        self.instance(instance_id, region)
        found: list[tuple[SyncRule, str]] = []
        for rule in sorted(self.rules.values(), key=lambda r: r.created):
            if rule.local.instance_id == instance_id:
                direction = "FROM"
            elif rule.target.instance_id == instance_id:
                direction = "TO"
            else:
                continue
            if (namespace in (None, rule.local_namespace) and repo in (None, rule.local_repo)
                    and target_instance in (None, rule.target.instance_id)
                    and target_region in (None, rule.target.region)):
                found.append((rule, direction))
        return found

    def _rule_matches(self, rule: SyncRule, inst: AcrInstance, repo: Repo, tag: str) -> bool:
        """Does a PASSIVE rule of ``inst`` cover this pushed tag?"""
        if rule.trigger != "PASSIVE" or rule.local.instance_id != inst.instance_id:
            return False
        if not _match(rule.tag_filter, tag):
            return False
        if rule.scope == "REPO":
            return (rule.local_namespace, rule.local_repo) == (repo.namespace, repo.name)
        if rule.scope == "NAMESPACE":
            return rule.local_namespace == repo.namespace and _match(rule.repo_filter, repo.name)
        return _match(rule.namespace_filter, repo.namespace) and _match(rule.repo_filter, repo.name)

    def on_push(self, inst: AcrInstance, repo: Repo, tag: str) -> list[str]:
        """Start one PASSIVE task per matching rule; all share one batch id."""
        batch_id = new_id("rsb")
        started: list[str] = []
        for rule in sorted(self.rules.values(), key=lambda r: r.created):
            if not self._rule_matches(rule, inst, repo, tag):
                continue
            namespace = rule.target_namespace if rule.scope != "INSTANCE" else repo.namespace
            target_repo = rule.target_repo if rule.scope == "REPO" else repo.name
            target = ImageRef(rule.target.instance_id, rule.target.region, namespace, target_repo, tag)
            task = self._start(inst, repo, tag, target, batch_id=batch_id, rule_id=rule.rule_id,
                               trigger="PASSIVE", override=True, priority=rule.priority, target_user=rule.target_user)
            started.append(task.task_id)
        return started

    # --- clock -----------------------------------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Finish every task whose end time has passed, in (end, creation) order."""
        due = sorted(
            (t for t in self.tasks.values() if not t.done and t.created + t.duration <= now),
            key=lambda t: (t.created + t.duration, t.seq),
        )
        for task in due:
            self._finish(task, task.created + task.duration)

    def _finish(self, task: SyncTask, at: float) -> None:
        """Apply a task's outcome at virtual time ``at``."""
        task.done, task.modified = True, at
        if task.fail_injected:
            task.status, task.issue = "ERROR", INJECTED
            return
        if (task.target.instance_id, task.target.namespace) not in self.namespaces:
            task.status = "ERROR"
            task.issue = f"NAMESPACE_NOT_EXIST: namespace {task.target.namespace} does not exist"
            return
        existing = self.repo_by_name(task.target.instance_id, task.target.namespace, task.target.repo)
        current = existing.tags.get(task.target.tag) if existing else None
        if current is not None and current.digest != task.digest and not task.override:
            task.status, task.issue = "ERROR", TAG_CONFLICT.format(tag=task.target.tag)
            return
        repo = existing or self.ensure_repo(task.target.instance_id, task.target.namespace, task.target.repo)
        self.put_tag(repo, task.target.tag, task.digest, task.size_bytes, at)
        task.status = "SUCCESS"
