"""ACR EE replication rules (``Policy.acr_rules``): which pushed tags go to which instances.

Re-exported by ``shared.policy``; ``load_policy`` turns every problem into a ``ConfigError``
whose ``field`` is the dotted path (``acr_rules[1].targets[0].instance_id``) and whose
message names the rule(s) involved.

Example
-------
>>> from shared.policy import load_policy
>>> policy = load_policy('''
... acr_rules:
...   - name: web
...     source: {instance_id: cri-hzsrc01, region: cn-hangzhou}
...     namespaces: [web]
...     tags: {include: '^v\\\\d+\\\\.\\\\d+\\\\.\\\\d+$', exclude: '-rc'}
...     targets:
...       - {instance_id: cri-bjtgt01, region: cn-beijing}
...       - {instance_id: cri-sgtgt01, region: ap-southeast-1, namespace: mirror}
... ''')
>>> rule = policy.acr_rules_for("cri-hzsrc01", "web", "frontend", "v1.2.3")[0]
>>> [rule.target_names("web", "frontend", t) for t in rule.targets]
[('web', 'frontend'), ('mirror', 'frontend')]
>>> policy.acr_rules_for("cri-hzsrc01", "web", "frontend", "v1.2.3-rc1")
[]

What is checked here, statically (alibaba-api.md §3)
-----------------------------------------------------
* A target must not be the source instance itself. Two instances of one region are fine: the
  service replicates between instances of the same region too.
* The service's rule graph: an instance that is a destination in one rule cannot be a source
  or a destination in another rule (nor twice in one rule).
* One instance lives in one region: a source instance named in several rules must carry the
  same region each time.
* No replication from a public region into a finance or government region. The policy has no
  region catalogue, so this is a HEURISTIC on the id: a region whose id contains ``-finance-``
  (``cn-shanghai-finance-1``) or ``-gov-`` (``cn-north-2-gov-1``) is restricted; every other
  region is public. Restricted-to-restricted is allowed.
* Renames must not merge repositories: a ``namespace`` rename needs exactly one source
  namespace, a ``repository`` rename exactly one source repository (otherwise two source
  repositories would overwrite each other's tags in one target repository).

Account targets (issue #13)
---------------------------
``accounts`` lists instances of *other* Alibaba Cloud accounts: each entry is ``account_id`` (16 digits,
quoted in YAML) and its ``targets`` (instance, region, optional renames, exactly as ``targets``). A sync task
to them carries CreateRepoSyncTask's ``TargetUserId``; the target account must have authorised this account
first (README, "ACR partner setup"). Every check above applies to account targets as well (instance ids are
global), plus: an account listed twice in one rule is refused; a rule needs ``targets`` or ``accounts``. The
source account itself is never a target; the policy does not know which account runs it, so the functions
check that at run time (``account_target_problems``) and the ledger record fails with that reason.

>>> policy = load_policy('''
... acr_rules:
...   - name: partner
...     source: {instance_id: cri-hzsrc01, region: cn-hangzhou}
...     accounts:
...       - account_id: "2222222222222222"
...         targets: [{instance_id: cri-partner01, region: cn-shanghai}]
... ''')
>>> [(a, t.instance_id) for a, t in policy.acr_rules[0].all_targets()]
[('2222222222222222', 'cri-partner01')]

What is NOT checked here: the source instance must be Advanced edition
(``Enterprise_Advanced``). The policy does not know editions, so the replicating function checks
it at run time with ``GetInstance`` (``InstanceSpecification``) before creating any sync task;
this module exposes nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)

from shared.patterns import BoundedPattern, bounded
from shared.policy.accounts import AccountId, source_account_problems
from shared.regions import region_problem
from shared.values import AcrInstanceId, AcrName, At, BoundedRegex, RuleName, check_region_form, unique

__all__ = ["AcrAccountTarget", "AcrInstanceRef", "AcrRule", "AcrTarget", "TagFilter", "account_target_problems"]

_RESTRICTED_MARKERS = ("-finance-", "-gov-")


def _restricted(region: str) -> bool:
    """Finance/government region, by the id heuristic documented above."""
    return any(marker in region for marker in _RESTRICTED_MARKERS)


def _region(value: str) -> str:
    check_region_form(value)
    problem = region_problem(value)
    if problem and not _restricted(value):  # finance/government ids are checked by the graph rules below
        raise ValueError(problem)
    return value


Region = Annotated[str, AfterValidator(_region)]


class AcrInstanceRef(BaseModel):
    """An ACR EE instance and the region it lives in."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    instance_id: AcrInstanceId
    region: Region


class AcrTarget(AcrInstanceRef):
    """A destination instance; ``namespace`` / ``repository`` rename the target (None: keep)."""

    namespace: AcrName | None = None
    repository: AcrName | None = None


class AcrAccountTarget(BaseModel):
    """Instances of another account (CreateRepoSyncTask's ``TargetUserId``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    account_id: AccountId
    targets: list[AcrTarget] = Field(min_length=1)


class TagFilter(BaseModel):
    """``include`` must match (a search, RE2 syntax) if given; ``exclude`` must not match if given.

    >>> f = TagFilter(include=r"^v\\d+\\.\\d+\\.\\d+", exclude="-rc")
    >>> f.matches("v1.2.3"), f.matches("v1.2.3-rc1"), f.matches("latest")
    (True, False, False)
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    include: BoundedRegex | None = None
    exclude: BoundedRegex | None = None
    _include: BoundedPattern | None = PrivateAttr(default=None)
    _exclude: BoundedPattern | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any, /) -> None:
        # Compiled once per filter (the validator above proved both compile); RE2: bounded time.
        self._include = None if self.include is None else bounded(self.include)
        self._exclude = None if self.exclude is None else bounded(self.exclude)

    def matches(self, tag: str) -> bool:
        if self._include is not None and not self._include.search(tag):
            return False
        return self._exclude is None or not self._exclude.search(tag)


class AcrRule(BaseModel):
    """Replicate tags pushed to ``source`` (optionally only some namespaces/repositories/tags) to
    every target instance. ``namespaces`` / ``repositories`` None means every one; repository
    names are bare (``frontend``, not ``web/frontend``) and combine with ``namespaces``.
    ``override`` is CreateRepoSyncTask's ``Override``; ``window`` names a ``Policy.windows`` entry.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    name: RuleName
    source: AcrInstanceRef
    namespaces: Annotated[list[AcrName], Field(min_length=1), unique("namespace")] | None = None
    repositories: Annotated[list[AcrName], Field(min_length=1), unique("repository")] | None = None
    tags: TagFilter = Field(default_factory=TagFilter)
    targets: list[AcrTarget] = Field(default_factory=list)
    accounts: list[AcrAccountTarget] = Field(default_factory=list)
    override: bool = False
    window: str | None = None

    def located_targets(self) -> Iterator[tuple[str | None, AcrTarget, tuple[str | int, ...]]]:
        """(account id or None for this account, target, its location below the rule), in policy order."""
        for j, target in enumerate(self.targets):
            yield None, target, ("targets", j)
        for a, account in enumerate(self.accounts):
            for j, target in enumerate(account.targets):
                yield account.account_id, target, ("accounts", a, "targets", j)

    def all_targets(self) -> list[tuple[str | None, AcrTarget]]:
        """Every target with its account (None: this account)."""
        return [(account, target) for account, target, _ in self.located_targets()]

    @model_validator(mode="after")
    def _cross_checks(self) -> AcrRule:
        if not self.targets and not self.accounts:
            raise At(f"acr rule {self.name!r} needs at least 1 target instance (in targets or accounts)", "targets")
        accounts = [a.account_id for a in self.accounts]
        for a, account in enumerate(accounts):
            if account in accounts[:a]:
                raise At(f"acr rule {self.name!r}: account {account} is listed twice", "accounts", a, "account_id")
        seen: set[str] = set()
        for _account, target, loc in self.located_targets():
            if target.instance_id == self.source.instance_id:
                raise At(
                    f"acr rule {self.name!r}: target {target.instance_id!r} is the source instance itself",
                    *loc, "instance_id",
                )
            if target.instance_id in seen:
                raise At(
                    f"acr rule {self.name!r}: target instance {target.instance_id!r} is listed twice",
                    *loc, "instance_id",
                )
            seen.add(target.instance_id)
            if _restricted(target.region) and not _restricted(self.source.region):
                raise At(
                    f"acr rule {self.name!r}: no replication from public region {self.source.region!r} "
                    f"into finance/government region {target.region!r}",
                    *loc, "region",
                )
            if target.namespace is not None and (self.namespaces is None or len(self.namespaces) != 1):
                raise At(
                    f"acr rule {self.name!r}: a namespace rename needs exactly one source namespace "
                    "(several would be merged into one)",
                    *loc, "namespace",
                )
            if target.repository is not None and (self.repositories is None or len(self.repositories) != 1):
                raise At(
                    f"acr rule {self.name!r}: a repository rename needs exactly one source repository "
                    "(several would be merged into one)",
                    *loc, "repository",
                )
        return self

    def matches(self, instance_id: str, namespace: str, repo: str, tag: str) -> bool:
        """True when the tag was pushed to this rule's source and passes every filter."""
        return (
            instance_id == self.source.instance_id
            and (self.namespaces is None or namespace in self.namespaces)
            and (self.repositories is None or repo in self.repositories)
            and self.tags.matches(tag)
        )

    def target_names(self, namespace: str, repo: str, target: AcrTarget) -> tuple[str, str]:
        """(target namespace, target repository) in ``target`` for source ``namespace/repo``.

        ``ValueError`` if ``target`` is not one of this rule's targets.
        """
        if target not in self.targets and not any(target in a.targets for a in self.accounts):
            raise ValueError(f"{target.instance_id!r} is not a target of acr rule {self.name!r}")
        return (target.namespace or namespace, target.repository or repo)


def check_acr_graph(rules: list[AcrRule]) -> list[AcrRule]:
    """Checks across rules (module docstring); raises ``At`` located below ``acr_rules``."""
    sources: dict[str, tuple[int, AcrRule]] = {}
    for i, rule in enumerate(rules):
        first = sources.setdefault(rule.source.instance_id, (i, rule))
        if first[1].source.region != rule.source.region:
            raise At(
                f"acr rules {first[1].name!r} and {rule.name!r} give source instance "
                f"{rule.source.instance_id!r} different regions ({first[1].source.region!r}, "
                f"{rule.source.region!r})",
                i, "source", "region",
            )
    destinations: dict[str, AcrRule] = {}
    for i, rule in enumerate(rules):
        for _account, target, loc in rule.located_targets():
            where = (i, *loc, "instance_id")
            if target.instance_id in sources:
                other = sources[target.instance_id][1]
                raise At(
                    f"instance {target.instance_id!r} is a destination of acr rule {rule.name!r} and the "
                    f"source of acr rule {other.name!r}; a destination instance cannot be a source elsewhere",
                    *where,
                )
            if target.instance_id in destinations:
                other = destinations[target.instance_id]
                raise At(
                    f"instance {target.instance_id!r} is a destination of acr rule {other.name!r} and of acr "
                    f"rule {rule.name!r}; a destination instance cannot be a destination elsewhere",
                    *where,
                )
        for _account, target in rule.all_targets():
            destinations[target.instance_id] = rule
    return rules


def account_target_problems(rules: list[AcrRule], source_account: str) -> list[str]:
    """``acr_rules[i].accounts[j].account_id: …`` for every account target that is the source account itself
    (the functions know the account they run in; the policy does not)."""
    return list(source_account_problems(((r.name, r.accounts) for r in rules), source_account, "acr_rules"))


def acr_rule_label(doc: Any, index: int) -> str:
    """``'web'`` (the rule's name as written) or ``#1`` when the name is missing or not a string."""
    rules = doc.get("acr_rules") if isinstance(doc, dict) else None
    rule = rules[index] if isinstance(rules, list) and 0 <= index < len(rules) else None
    name = rule.get("name") if isinstance(rule, dict) else None
    return repr(name[:80]) if isinstance(name, str) else f"#{index}"
