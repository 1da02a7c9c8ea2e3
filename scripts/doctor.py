"""`image-relay doctor`: a read-only pre-flight of the policy against the account (or the emulator).

Each check answers ok, problem (with the fix) or unchecked (with why: e.g. the caller may not read
RAM). Nothing is created or changed in the cloud; the ledger check only looks at the file system
(SQLite) or reads (OSS). What it checks, per rule: the regions are enabled for the account (ECS
DescribeRegions); the KMS keys exist and are Enabled (KMS DescribeKey); the export role exists (RAM
GetRole) and each bucket is in its rule's region (OSS GetBucketLocation); an ACR source instance is
Enterprise_Advanced and its targets exist (CR GetInstance); the function role's policies allow every
action the code calls (RAM ListPoliciesForRole + GetPolicy, matched with wildcards); the ledger is
writable.

JSON shape (`--json`): ``{"ok": bool, "checks": [{"check", "subject", "status", "detail", "fix"}]}``.
"""
from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shared.errors import CloudAuthError, ImageRelayError, ResourceNotFoundError
from shared.policy import Policy, check_policy
from shared.regions import suggest

DEFAULT_FUNCTION_ROLE = "image-relay-fc-role"


@dataclass
class Check:
    """One line of the report."""

    check: str
    subject: str
    status: str  # ok | problem | unchecked
    detail: str
    fix: str = ""


@dataclass
class Cloud:
    """The read-only clients doctor uses (built lazily by `connect`)."""

    ecs: Any
    kms: Any
    ram: Any
    cr: Any
    bucket_region: Callable[[str, str], str | None]


def connect(credentials: Any, endpoint: str | None) -> Cloud:
    """Real SDK clients for the checks."""
    from shared.clouds.acr import AcrGateway
    from shared.clouds.ecs import EcsGateway
    from shared.clouds.kms import KmsGateway
    from shared.clouds.oss_location import bucket_region
    from shared.clouds.ram import RamGateway

    return Cloud(ecs=EcsGateway.connect(credentials, endpoint=endpoint),
                 kms=KmsGateway.connect(credentials, endpoint=endpoint),
                 ram=RamGateway.connect(credentials, endpoint=endpoint),
                 cr=AcrGateway.connect(credentials, endpoint=endpoint),
                 bucket_region=lambda bucket, near: bucket_region(credentials, bucket, near=near, endpoint=endpoint))


def policy_checks(path: str) -> tuple[Policy | None, list[Check]]:
    """The policy itself: every validation problem is a doctor problem with its fix."""
    policy, problems = check_policy(path)
    if policy is not None:
        return policy, [Check("policy", path, "ok", "valid")]
    out = []
    for p in problems:
        where = f"line {p.line}, column {p.column}" if p.line else path
        fix = f"edit {p.field or 'the file'} at {where}"
        bad = p.message.split("'")[1] if p.message.startswith("unknown region '") else None
        if bad and suggest(bad):
            fix = f"write {suggest(bad)} instead of {bad} ({where})"
        out.append(Check("policy", p.field or path, "problem", p.message, fix))
    return None, out


def _regions(policy: Policy) -> dict[str, str]:
    """Every region the policy names → where it is named first."""
    named: dict[str, str] = {}
    for i, rule in enumerate(policy.copy_rules):
        for r in (*rule.source_regions, *rule.target_regions):
            named.setdefault(r, f"copy_rules[{i}] {rule.name}")
    for i, export in enumerate(policy.export_rules):
        for r in export.source_regions:
            named.setdefault(r, f"export_rules[{i}] {export.name}")
    for i, acr in enumerate(policy.acr_rules):
        for r in (acr.source.region, *(t.region for t in acr.targets)):
            named.setdefault(r, f"acr_rules[{i}] {acr.name}")
    return named


def _guard(check: str, subject: str, run: Callable[[], Check]) -> Check:
    """Run one check; a denied read is `unchecked`, any other cloud error a problem."""
    try:
        return run()
    except CloudAuthError as exc:
        return Check(check, subject, "unchecked", f"could not check: the caller may not read this ({exc.code})",
                     "grant the caller read access (or run doctor with an administrator's profile)")
    except ImageRelayError as exc:
        return Check(check, subject, "problem", f"the check failed: {exc}", "see the error; run doctor again")


def region_checks(policy: Policy, cloud: Cloud) -> list[Check]:
    named = _regions(policy)
    if not named:
        return []
    enabled = set(cloud.ecs.regions(next(iter(named))))
    out = []
    for region, where in sorted(named.items()):
        if region in enabled:
            out.append(Check("region", region, "ok", f"enabled for this account ({where})"))
        else:
            hint = suggest(region)
            fix = f"did you mean {hint}?" if hint and hint != region else "open the region for the account or drop it"
            out.append(Check("region", region, "problem", f"not a region this account can use ({where})", fix))
    return out


def kms_checks(policy: Policy, cloud: Cloud) -> list[Check]:
    out = []
    for i, rule in enumerate(policy.copy_rules):
        for region, key in sorted(rule.encrypt.items()):
            def run(region: str = region, key: str = key, i: int = i) -> Check:
                state = cloud.kms.key_state(region, key)
                subject = f"{key} in {region}"
                if state is None:
                    return Check("kms key", subject, "problem", f"the key does not exist (copy_rules[{i}].encrypt)",
                                 f"create a KMS key in {region} and put its id in copy_rules[{i}].encrypt.{region}")
                if state != "Enabled":
                    return Check("kms key", subject, "problem", f"the key is {state}",
                                 f"enable it (KMS EnableKey in {region}) or name another key")
                return Check("kms key", subject, "ok", "exists and is Enabled")
            out.append(_guard("kms key", f"{key} in {region}", run))
    return out


def export_checks(policy: Policy, cloud: Cloud) -> list[Check]:
    out = []
    for role in sorted({r.role_name for r in policy.export_rules}):
        def run(role: str = role) -> Check:
            if cloud.ram.role_exists(role):
                return Check("export role", role, "ok", "exists")
            return Check("export role", role, "problem", "the role ECS needs to write exports to OSS does not exist",
                         f"authorize ECS once: RAM console > Roles > create {role} (the ECS image-export "
                         "quick authorization), then run doctor again")
        out.append(_guard("export role", role, run))
    for rule in policy.export_rules:
        for region, bucket in sorted(rule.bucket.items()):
            def run_bucket(region: str = region, bucket: str = bucket, rule_name: str = rule.name) -> Check:
                where = cloud.bucket_region(bucket, region)
                if where is None:
                    return Check("bucket", bucket, "problem", f"does not exist (export rule {rule_name})",
                                 f"create bucket {bucket} in {region}")
                if where != region:
                    return Check("bucket", bucket, "problem", f"is in {where}; ExportImage writes only to a bucket "
                                 f"in the image's region {region}", f"use a bucket in {region}")
                return Check("bucket", bucket, "ok", f"in {region}")
            out.append(_guard("bucket", bucket, run_bucket))
    return out


def acr_checks(policy: Policy, cloud: Cloud) -> list[Check]:
    out = []
    for rule in policy.acr_rules:
        def run(rule: Any = rule) -> Check:
            source = cloud.cr.get_instance(rule.source.region, rule.source.instance_id)
            if source.specification != "Enterprise_Advanced":
                return Check("acr source", rule.source.instance_id, "problem",
                             f"is {source.specification or 'unknown'}; only Enterprise_Advanced instances sync",
                             "upgrade the instance to the Advanced edition, or name another source")
            return Check("acr source", rule.source.instance_id, "ok", "Enterprise_Advanced")
        out.append(_guard("acr source", rule.source.instance_id, run))
        for target in rule.targets:
            def run_target(target: Any = target) -> Check:
                try:
                    cloud.cr.get_instance(target.region, target.instance_id)
                except ResourceNotFoundError:
                    return Check("acr target", target.instance_id, "problem", f"no such instance in {target.region}",
                                 "create it, or fix the rule's targets")
                return Check("acr target", target.instance_id, "ok", f"exists in {target.region}")
            out.append(_guard("acr target", target.instance_id, run_target))
    return out


def allowed(documents: list[dict[str, Any]], action: str) -> bool:
    """True when an Allow statement's Action (with * wildcards) covers `action` and no Deny does."""
    def matches(statement: dict[str, Any]) -> bool:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)

    statements = [s for d in documents for s in d.get("Statement", [])]
    if any(s.get("Effect") == "Deny" and matches(s) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and matches(s) for s in statements)


def role_checks(role: str, cloud: Cloud, needed: set[str]) -> list[Check]:
    def run() -> Check:
        if not cloud.ram.role_exists(role):
            return Check("function role", role, "problem", "the role does not exist",
                         "deploy template.yml (it creates the role), or pass --role with its name")
        documents = cloud.ram.role_documents(role)
        missing = sorted(a for a in needed if not allowed(documents, a))
        if missing:
            return Check("function role", role, "problem", f"its policies do not allow: {', '.join(missing)}",
                         "grant them (template.yml's -adapters policy lists exactly these)")
        return Check("function role", role, "ok", f"allows all {len(needed)} actions the functions call")
    return [_guard("function role", role, run)]


def ledger_check(state: str) -> Check:
    if state.startswith("memory://"):
        return Check("ledger", state, "ok", "in memory (tests only: nothing survives the process)")
    if state.startswith("oss://"):
        return Check("ledger", state, "unchecked", "an OSS ledger's write access is not tested (doctor writes "
                     "nothing)", "the function role's -adapters policy grants PutObject on the state bucket")
    path = Path(state[len("sqlite:///"):] if state.startswith("sqlite:///") else state)
    directory = path if path.is_dir() else path.parent
    existing = next((d for d in (directory, *directory.parents) if d.exists()), Path("/"))
    writable = os.access(path, os.W_OK) if path.exists() else os.access(existing, os.W_OK)
    if not writable:
        return Check("ledger", str(path), "problem", "not writable by this user", f"fix the permissions of {existing}")
    return Check("ledger", str(path), "ok", "writable" if path.exists() else "will be created on first write")


def run_doctor(policy_path: str, state: str, cloud_factory: Callable[[], Cloud], role: str,
               needed: Callable[[], set[str]]) -> dict[str, Any]:
    """Every check; `ok` is False when any is a problem."""
    policy, checks = policy_checks(policy_path)
    checks.append(ledger_check(state))
    if policy is not None:
        try:
            cloud = cloud_factory()
        except ImageRelayError as exc:
            checks.append(Check("credentials", "-", "problem", str(exc), "run `aliyun configure` or pass --profile"))
        else:
            checks.append(Check("credentials", "-", "ok", "found"))
            checks += _guard_all(region_checks, policy, cloud, "region")
            checks += kms_checks(policy, cloud) + export_checks(policy, cloud) + acr_checks(policy, cloud)
            # sts:AssumeRole is granted (template.yml's -partner-roles policy) only with account targets
            partners = any(rule.accounts for rule in policy.copy_rules)
            checks += role_checks(role, cloud, {a for a in needed() if partners or a != "sts:AssumeRole"})
    return {"ok": not any(c.status == "problem" for c in checks), "checks": [asdict(c) for c in checks]}


def _guard_all(fn: Callable[[Policy, Cloud], list[Check]], policy: Policy, cloud: Cloud, name: str) -> list[Check]:
    box: list[list[Check]] = []

    def run() -> Check:
        box.append(fn(policy, cloud))
        return Check(name, "-", "ok", "")

    first = _guard(name, "-", run)
    return box[0] if box else [first]
