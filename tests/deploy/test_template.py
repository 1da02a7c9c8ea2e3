"""Meta-tests: template.yml against the code it deploys.

Each check is a function returning a list of problems; every check has a twin test that breaks a copy
of the template (or of an adapter's source) and asserts the check reports it, so a check that cannot
fail is caught too.
"""
from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.entrypoint import entry_source, function_names
from scripts.invoke import FUNCTIONS
from scripts.ram import (
    ROOT,
    CronError,
    adapter_modules,
    derive_actions,
    derive_module,
    handler_modules,
    parse_cron,
    reachable_modules,
)
from shared.config import _FIELD_TO_ENV, Settings
from shared.policy.windows import Window

TEMPLATE = ROOT / "template.yml"
REQUIRED_ENV = ("IMAGE_RELAY_POLICY", "IMAGE_RELAY_STATE")
EVENT_PATTERNS = {
    "image_created": {"source": ["acs.ecs"], "type": ["ecs:ActionTrail:ApiCall"], "data": {"eventName": ["CreateImage"]}},
    "acr_push": {"source": ["acs.cr"], "type": ["cr:Artifact:PushCompleted"]},
}
TIMERS = {"reconcile": "0 */5 * * * *", "export_batch": "0 */5 * * * *"}
#: The example window of the README's policy section, which export_batch's timer must serve.
EXAMPLE_WINDOW = Window(name="night", start="01:00", end="05:00", timezone="Asia/Shanghai")
SAMPLE_PARAMETERS = {"StateBucketName": "relay-state", "LedgerPrefix": "ledger", "PolicyFile": "policy.yml",
                     "ALIYUN::Region": "cn-hangzhou", "ALIYUN::AccountId": "1234567890", "LogLevel": "INFO",
                     "FanoutThreshold": "5000"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    doc = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


# -- helpers ------------------------------------------------------------------------------------------

def resources(doc: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in doc["Resources"].items() if r.get("Type") == kind}


def functions(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """FunctionName -> Properties of every ALIYUN::FC::Function."""
    return {r["Properties"]["FunctionName"]: r["Properties"] for r in resources(doc, "ALIYUN::FC::Function").values()}


def logical_to_function(doc: dict[str, Any]) -> dict[str, str]:
    return {k: r["Properties"]["FunctionName"] for k, r in resources(doc, "ALIYUN::FC::Function").items()}


def triggers(doc: dict[str, Any], trigger_type: str) -> list[tuple[str, dict[str, Any]]]:
    """(function name, TriggerConfig) of every trigger of a type."""
    names = logical_to_function(doc)
    out = []
    for r in resources(doc, "ALIYUN::FC::Trigger").values():
        props = r["Properties"]
        if props["TriggerType"] != trigger_type:
            continue
        target = props["FunctionName"]
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            target = names.get(target["Fn::GetAtt"][0], f"<unknown {target['Fn::GetAtt'][0]}>")
        out.append((target, props["TriggerConfig"]))
    return out


def render(value: Any, params: dict[str, str] = SAMPLE_PARAMETERS) -> str:
    """A scalar, ``Ref`` or ``Fn::Sub`` rendered with sample parameter values."""
    if isinstance(value, dict) and "Ref" in value:
        return params[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{([^}]+)\}", lambda m: params[m.group(1)], value["Fn::Sub"])
    return str(value)


def _policies(role: dict[str, Any]) -> list[dict[str, Any]]:
    """The role's policies, a conditional one (``Fn::If: [cond, policy, NoValue]``) as its policy."""
    return [p["Fn::If"][1] if "Fn::If" in p else p for p in role["Policies"]]


def _policy_name(policy: dict[str, Any]) -> str:
    name = policy["PolicyName"]
    return str(name.get("Fn::Sub", name) if isinstance(name, dict) else name)


def adapter_policy_actions(doc: dict[str, Any]) -> set[str]:
    """Every action of the role's ``<service>-adapters`` policy, of its conditional ``-alerts`` policy, and of
    the ``<service>-partner-roles`` managed policy (sts:AssumeRole on the partner roles, issue #13)."""
    role = next(iter(resources(doc, "ALIYUN::RAM::Role").values()))["Properties"]
    policies = [p for p in _policies(role) if _policy_name(p).endswith(("-adapters", "-alerts"))]
    policies += [m["Properties"] for m in resources(doc, "ALIYUN::RAM::ManagedPolicy").values()
                 if _policy_name(m["Properties"]).endswith("-partner-roles")]
    found: set[str] = set()
    for policy in policies:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            found.update([actions] if isinstance(actions, str) else actions)
    return found


# -- checks ---------------------------------------------------------------------------------------------

def check_handlers(doc: dict[str, Any], root: Path = ROOT) -> list[str]:
    """Every function declared, every Handler in FC's ``<file>.<function>`` form naming a package entry module."""
    problems = []
    declared = functions(doc)
    shipped = function_names(root / "functions")
    for name in shipped:
        if name not in declared:
            problems.append(f"functions/{name} is not declared in template.yml")
    for name, props in sorted(declared.items()):
        file, _, attr = str(props["Handler"]).partition(".")
        if not file or not attr or "." in attr:
            problems.append(f"{name}: Handler {props['Handler']!r} is not FC's <file>.<function> form")
        elif file not in shipped:
            problems.append(f"{name}: handler module {file!r} is not an entry module of the package")
        else:
            namespace: dict[str, Any] = {}
            exec(entry_source(file), namespace)  # noqa: S102 - our own generated entry module
            if not callable(namespace.get(attr)):
                problems.append(f"{name}: {props['Handler']} is not callable")
        if props.get("Runtime") != "python3.10":
            problems.append(f"{name}: Runtime is {props.get('Runtime')!r}, not python3.10")
        if name in FUNCTIONS and props.get("Timeout") != FUNCTIONS[name][1]:
            problems.append(f"{name}: Timeout {props.get('Timeout')} differs from scripts/invoke.py ({FUNCTIONS[name][1]})")
    return problems


def check_environment(doc: dict[str, Any]) -> list[str]:
    problems = []
    known = set(_FIELD_TO_ENV.values())
    for name, props in sorted(functions(doc).items()):
        env = props.get("EnvironmentVariables") or {}
        for var in sorted(set(env) - known):
            problems.append(f"{name}: {var} is not read by Settings (shared/config.py _FIELD_TO_ENV)")
        for var in REQUIRED_ENV:
            if var not in env:
                problems.append(f"{name}: {var} is not set")
        try:
            settings = Settings.from_env({k: render(v) for k, v in env.items() if k in known})
            if "IMAGE_RELAY_STATE" in env and not settings.state.startswith("oss://"):
                problems.append(f"{name}: IMAGE_RELAY_STATE is not a shared oss:// ledger: {settings.state}")
        except Exception as exc:  # ConfigError or a missing sample parameter
            problems.append(f"{name}: environment rejected: {exc}")
    return problems


def check_policy_actions(doc: dict[str, Any], derived: set[str]) -> list[str]:
    granted = adapter_policy_actions(doc)
    problems = [f"granted but no adapter calls it: {a}" for a in sorted(granted - derived)]
    problems += [f"an adapter calls it but the role lacks it: {a}" for a in sorted(derived - granted)]
    return problems


def check_timers(doc: dict[str, Any]) -> list[str]:
    problems = []
    seen: dict[str, list[str]] = {}
    for function, config in triggers(doc, "timer"):
        expression = config.get("cronExpression", "")
        seen.setdefault(function, []).append(expression)
        try:
            parse_cron(expression)
        except CronError as exc:
            problems.append(f"{function}: {exc}")
    for function, expression in TIMERS.items():
        if expression not in seen.get(function, []):
            problems.append(f"{function}: no timer {expression!r} (has {seen.get(function)})")
    if "cleanup" not in seen:
        problems.append("cleanup: no timer")
    return problems


def check_window_served(expression: str, window: Window, days: int = 14) -> list[str]:
    """Every occurrence of ``window`` in ``days`` days holds at least one firing of ``expression``."""
    cron = parse_cron(expression)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    problems = []
    opens = window.next_start(start)
    while opens is not None and opens < start + timedelta(days=days):
        closes = window.current_end(opens)
        assert closes is not None
        if not any(window.contains(fire) for fire in cron.firings(opens, closes)):
            problems.append(f"{expression!r} never fires in the {window.name} window opening {opens.isoformat()}")
        opens = window.next_start(closes)
    return problems


def check_event_triggers(doc: dict[str, Any]) -> list[str]:
    problems = []
    found: dict[str, list[Any]] = {}
    for function, config in triggers(doc, "eventbridge"):
        try:
            found.setdefault(function, []).append(json.loads(config["eventRuleFilterPattern"]))
        except (KeyError, ValueError) as exc:
            problems.append(f"{function}: eventRuleFilterPattern is not JSON: {exc}")
    for function, pattern in EVENT_PATTERNS.items():
        if pattern not in found.get(function, []):
            problems.append(f"{function}: no EventBridge trigger with pattern {json.dumps(pattern)}")
    return problems


# -- the template's own shape ---------------------------------------------------------------------------

def test_template_is_plain_ros_readable_by_safe_load(template):
    assert template["ROSTemplateFormatVersion"] == "2015-09-01"
    assert "Transform" not in template  # Funcraft's transform has no EventBridge trigger type
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {"ALIYUN::FC::Service", "ALIYUN::FC::Function", "ALIYUN::FC::Trigger", "ALIYUN::RAM::Role",
            "ALIYUN::OSS::Bucket"} <= kinds


def test_state_bucket_is_not_versioned_and_feeds_the_ledger_url(template):
    bucket = next(iter(resources(template, "ALIYUN::OSS::Bucket").values()))["Properties"]
    assert "VersioningConfiguration" not in bucket
    assert bucket["BucketName"] == {"Ref": "StateBucketName"}
    for props in functions(template).values():
        assert props["EnvironmentVariables"]["IMAGE_RELAY_STATE"]["Fn::Sub"].startswith("oss://${StateBucketName}/")


def test_role_is_assumed_by_fc_and_used_by_the_service(template):
    (logical, role), = resources(template, "ALIYUN::RAM::Role").items()
    principals = [s["Principal"]["Service"] for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]]
    assert principals == [["fc.aliyuncs.com"]]
    service = next(iter(resources(template, "ALIYUN::FC::Service").values()))["Properties"]
    assert service["Role"] == {"Fn::GetAtt": [logical, "Arn"]}
    assert service["LogConfig"]["Project"] and service["LogConfig"]["Logstore"]


def test_oss_grants_are_scoped_to_the_state_and_export_buckets(template):
    role = next(iter(resources(template, "ALIYUN::RAM::Role").values()))["Properties"]
    for policy in _policies(role):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("oss:") for a in actions):
                subs = [r["Fn::Sub"] for r in statement["Resource"]]
                assert all(s.startswith("acs:oss:*:*:${StateBucketName}") or s.startswith("acs:oss:*:*:${ExportBucketPattern}")
                           for s in subs), subs


def test_async_configuration(template):
    for name, props in functions(template).items():
        config = props["AsyncConfiguration"]
        assert isinstance(config["MaxAsyncRetryAttempts"], int) and 0 <= config["MaxAsyncRetryAttempts"] <= 8, name
        assert 1 <= config["MaxAsyncEventAgeInSeconds"] <= 2592000, name
        # the functions that invoke themselves with stateful ids: reconcile (fan-out, wake-ups), export_batch
        assert config["StatefulInvocation"] is (name in ("reconcile", "export_batch")), name
        assert props["InstanceConcurrency"] >= 1 and props["MemorySize"] % 64 == 0


# -- handlers ---------------------------------------------------------------------------------------------

def test_every_handler_imports_and_every_function_is_declared(template):
    assert check_handlers(template) == []


def test_handler_check_reports_a_bad_handler_a_missing_function_and_a_wrong_timeout(template):
    broken = copy.deepcopy(template)
    broken["Resources"]["ImageCreatedFunction"]["Properties"]["Handler"] = "functions.image_created.handler.handler"
    broken["Resources"]["AcrPushFunction"]["Properties"]["Handler"] = "acr_push.missing"
    broken["Resources"]["ExportBatchFunction"]["Properties"]["Handler"] = "nope.handler"
    broken["Resources"]["ReconcileFunction"]["Properties"]["Timeout"] = 60
    del broken["Resources"]["CleanupFunction"]
    problems = "\n".join(check_handlers(broken))
    assert "image_created: Handler 'functions.image_created.handler.handler' is not FC's <file>.<function> form" in problems
    assert "export_batch: handler module 'nope' is not an entry module" in problems
    assert "acr_push: acr_push.missing is not callable" in problems
    assert "functions/cleanup is not declared" in problems
    assert "reconcile: Timeout 60" in problems


# -- environment ----------------------------------------------------------------------------------------

def test_environment_is_what_settings_reads(template):
    assert check_environment(template) == []


def test_environment_check_reports_unknown_and_missing_variables(template):
    broken = copy.deepcopy(template)
    env = broken["Resources"]["ExportBatchFunction"]["Properties"]["EnvironmentVariables"]
    env["IMAGE_RELAY_POLICY_PATH"] = "policy.yml"
    del broken["Resources"]["CleanupFunction"]["Properties"]["EnvironmentVariables"]["IMAGE_RELAY_STATE"]
    broken["Resources"]["AcrPushFunction"]["Properties"]["EnvironmentVariables"]["IMAGE_RELAY_LOG_LEVEL"] = "LOUD"
    problems = "\n".join(check_environment(broken))
    assert "export_batch: IMAGE_RELAY_POLICY_PATH is not read by Settings" in problems
    assert "cleanup: IMAGE_RELAY_STATE is not set" in problems
    assert "acr_push: environment rejected" in problems


# -- RAM --------------------------------------------------------------------------------------------------

def test_role_grants_exactly_what_the_adapters_can_call(template):
    derived = derive_actions()
    assert derived.problems == []
    assert {"ecs:CopyImage", "ecs:DescribeTaskAttribute", "cr:CreateRepoSyncTask", "oss:PutObject"} <= derived.actions
    assert check_policy_actions(template, derived.actions) == []


IMAGE_BUILDER_ACTIONS = {"ecs:StartImagePipelineExecution", "ecs:DescribeImagePipelineExecutions",
                         "ecs:CancelImagePipelineExecution", "ecs:DescribeImagePipelines"}


def test_partner_roles_get_exactly_assume_role_on_the_listed_arns_and_only_when_listed(template):
    derived = derive_actions()
    assert {"sts:AssumeRole", "ecs:ModifyImageSharePermission", "ecs:DescribeImageSharePermission"} <= derived.actions
    assert any(w.startswith("shared/clouds/sts.py:") for w in derived.sources["sts:AssumeRole"])
    (logical, policy), = [(k, v) for k, v in resources(template, "ALIYUN::RAM::ManagedPolicy").items()
                          if _policy_name(v["Properties"]).endswith("-partner-roles")]
    assert policy["Condition"] == "HasPartnerRoles"
    assert template["Conditions"]["HasPartnerRoles"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PartnerRoleArns"}, ""]}]}
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sts:AssumeRole"]
    assert statement["Resource"] == {"Fn::Split": [",", {"Ref": "PartnerRoleArns"}]}
    assert policy["Properties"]["Roles"] == [{"Fn::GetAtt": ["FunctionRole", "RoleName"]}]
    pattern = re.compile(template["Parameters"]["PartnerRoleArns"]["AllowedPattern"])
    good = "acs:ram::2222222222222222:role/relay-partner,acs:ram::3333333333333333:role/b"
    assert pattern.match("") and pattern.match(good)
    for bad in ("acs:ram::123:role/x", "acs:ram::2222222222222222:role/x,", "arn:aws:iam::1:role/x"):
        assert not pattern.match(bad), bad
    # sharing is a write on this account's images: scoped like the other image writes
    writes = next(s for s in template["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
                  ["Statement"] if "ecs:CopyImage" in s["Action"])
    assert "ecs:ModifyImageSharePermission" in writes["Action"]


def test_image_builder_actions_are_derived_but_granted_only_once_a_handler_reaches_them(template):
    adapter = ROOT / "shared/clouds/ecs_pipelines.py"
    derived = derive_module(adapter)
    assert derived.actions == IMAGE_BUILDER_ACTIONS and derived.problems == []
    reached = "shared.clouds.ecs_pipelines" in reachable_modules(handler_modules())
    granted = IMAGE_BUILDER_ACTIONS & derive_actions().actions
    assert granted == (IMAGE_BUILDER_ACTIONS if reached else set())


def test_the_alert_action_is_granted_only_when_an_alert_bus_is_configured(template):
    role = next(iter(resources(template, "ALIYUN::RAM::Role").values()))["Properties"]
    conditional = [p["Fn::If"] for p in role["Policies"] if "Fn::If" in p]
    assert len(conditional) == 1 and conditional[0][0] == "HasAlertBus"
    assert conditional[0][2] == {"Ref": "ALIYUN::NoValue"}
    assert conditional[0][1]["PolicyDocument"]["Statement"][0]["Action"] == ["eventbridge:PutEvents"]
    assert template["Conditions"]["HasAlertBus"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlertBusName"}, ""]}]}
    assert template["Parameters"]["AlertBusName"]["Default"] == ""
    unconditional = [p for p in role["Policies"] if "Fn::If" not in p]
    assert all("eventbridge:PutEvents" not in json.dumps(p) for p in unconditional)


def test_policy_check_reports_an_extra_and_a_missing_grant(template):
    broken = copy.deepcopy(template)
    statements = broken["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements[0]["Action"] = [a for a in statements[0]["Action"] if a != "ecs:CopyImage"] + ["ecs:DescribeDisks"]
    problems = check_policy_actions(broken, derive_actions().actions)
    assert problems == ["granted but no adapter calls it: ecs:DescribeDisks",
                        "an adapter calls it but the role lacks it: ecs:CopyImage"]


def test_a_new_sdk_call_in_an_adapter_is_derived(tmp_path, template):
    source = (ROOT / "shared/clouds/ecs.py").read_text()
    source += ('\n\ndef _extra(self, region):\n    return self._call(region, "describe_disks", None)\n')
    copied = tmp_path / "ecs.py"
    copied.write_text(source)
    derived = derive_module(copied)
    assert "ecs:DescribeDisks" in derived.actions and derived.problems == []
    # every other adapter the handlers reach, as derived (a hand list went stale with each new adapter)
    others = derive_actions([p for p in adapter_modules() if p.name != "ecs.py"]).actions
    assert check_policy_actions(template, derived.actions | others) == [
        "an adapter calls it but the role lacks it: ecs:DescribeDisks"]


def test_an_unknown_sdk_method_or_unmapped_bucket_call_is_a_problem(tmp_path):
    ecs = tmp_path / "ecs.py"
    ecs.write_text((ROOT / "shared/clouds/ecs.py").read_text().replace('"describe_images"', '"describe_imagez"'))
    assert any("'describe_imagez' is not a method" in p for p in derive_module(ecs).problems)
    oss = tmp_path / "oss.py"
    oss.write_text((ROOT / "shared/clouds/oss.py").read_text()
                   + "\n\ndef _acl(b):\n    return b.put_object_acl('k', 'private')\n")
    assert any("put_object_acl has no RAM action" in p for p in derive_module(oss).problems)


def test_action_names_come_from_the_sdk_not_from_case_conversion(tmp_path):
    acr = tmp_path / "acr.py"
    acr.write_text("from alibabacloud_cr20181201.client import Client\n\n"
                   "class G:\n    def f(self, r):\n        return self._call(r, 'list_repo_tag', None)\n")
    assert derive_module(acr).actions == {"cr:ListRepoTag"}


def test_only_adapters_the_handlers_reach_count():
    reached = reachable_modules(handler_modules())
    assert {"shared.clouds.ecs", "shared.clouds.acr", "shared.clouds.oss"} <= reached
    # reconcile's wake-ups (shared.wiring._waker) reach the invoke-only FC adapter, so InvokeFunction is granted...
    assert "shared.clouds.fc_invoke" in reached
    assert derive_module(ROOT / "shared/clouds/fc_invoke.py").actions == {"fc:InvokeFunction"}
    # ...but not the CLI's FC adapter (deployment, invocation status)...
    assert "shared.clouds.fc" not in reached
    # ...and without the wake-up import no handler would reach FC at all.
    wiring = (ROOT / "shared/wiring.py").read_text().replace("    from shared.clouds.fc_invoke import FcInvoker\n", "")
    assert "shared.clouds.fc_invoke" not in reachable_modules(handler_modules(), sources={"shared.wiring": wiring})


# -- timers -----------------------------------------------------------------------------------------------

def test_timer_crons_parse_and_are_the_intended_schedules(template):
    assert check_timers(template) == []


def test_timer_check_reports_a_bad_or_changed_cron(template):
    broken = copy.deepcopy(template)
    broken["Resources"]["ReconcileTimer"]["Properties"]["TriggerConfig"]["cronExpression"] = "*/5 * * * *"
    broken["Resources"]["CleanupTimer"]["Properties"]["TriggerConfig"]["cronExpression"] = "0 61 20 * * *"
    problems = "\n".join(check_timers(broken))
    assert "reconcile: expected 6 fields" in problems
    assert "cleanup: bad minute field in '0 61 20 * * *'" in problems
    assert "reconcile: no timer '0 */5 * * * *'" in problems


@pytest.mark.parametrize("expression, ok", [
    ("0 */5 * * * *", True), ("@every 5m", True), ("@every 1h30m", True), ("0 30 20 ? * MON-FRI", True),
    ("0 0 1 1 JAN *", True), ("CRON_TZ=Asia/Shanghai 0 0 4 1 * *", True),
    ("0 0 8 * *", False), ("60 * * * * *", False), ("0 5-1 * * * *", False), ("0 */0 * * * *", False),
    ("? * * * * *", False), ("@every 0m", False), ("0 0 0 L * *", False), ("0 0 0 ? * 5#2", False),
    ("CRON_TZ=Mars/Olympus 0 0 4 1 * *", False),
])
def test_cron_parser(expression, ok):
    if ok:
        parse_cron(expression)
    else:
        with pytest.raises(CronError):
            parse_cron(expression)


def test_cron_firings():
    start = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)  # a Monday
    fires = list(parse_cron("0 30 20 ? * MON").firings(start, start + timedelta(days=8)))
    assert fires == [datetime(2026, 11, 2, 20, 30, tzinfo=timezone.utc), datetime(2026, 11, 9, 20, 30, tzinfo=timezone.utc)]
    assert len(list(parse_cron("0 */5 * * * *").firings(start, start + timedelta(hours=1)))) == 12
    # both day fields restricted: a day matching either fires (classic cron; UNCONFIRMED for FC)
    either = list(parse_cron("0 0 0 1 * MON").firings(start, start + timedelta(days=30)))
    assert [f.day for f in either] == [2, 9, 16, 23, 30, 1]  # Mondays, and the 1st (a Tuesday)
    # CRON_TZ: 04:00 in Shanghai is 20:00 UTC the day before
    assert list(parse_cron("CRON_TZ=Asia/Shanghai 0 0 4 3 * *").firings(start, start + timedelta(days=2))) == [
        datetime(2026, 11, 2, 20, 0, tzinfo=timezone.utc)]


def test_export_batch_timer_fires_inside_the_example_window_every_day(template):
    (expression,) = [c["cronExpression"] for f, c in triggers(template, "timer") if f == "export_batch"]
    assert check_window_served(expression, EXAMPLE_WINDOW) == []


def test_window_check_reports_a_timer_that_misses_the_window():
    # 12:00 UTC is 20:00 in Shanghai: never inside 01:00-05:00.
    problems = check_window_served("0 0 12 * * *", EXAMPLE_WINDOW, days=3)
    assert len(problems) == 3 and "never fires in the night window" in problems[0]


# -- EventBridge --------------------------------------------------------------------------------------------

def test_event_triggers_route_the_documented_patterns(template):
    assert check_event_triggers(template) == []
    for _, config in triggers(template, "eventbridge"):
        assert config["triggerEnable"] is True and config["asyncInvocationType"] is True
        assert config["eventSourceConfig"] == {"eventSourceType": "Default"}


def test_event_trigger_check_reports_a_swapped_or_broken_pattern(template):
    broken = copy.deepcopy(template)
    broken["Resources"]["ImageCreatedEvents"]["Properties"]["FunctionName"] = {"Fn::GetAtt": ["AcrPushFunction", "FunctionName"]}
    broken["Resources"]["AcrPushEvents"]["Properties"]["TriggerConfig"]["eventRuleFilterPattern"] = "{source: acs.cr}"
    problems = "\n".join(check_event_triggers(broken))
    assert "acr_push: eventRuleFilterPattern is not JSON" in problems
    assert "image_created: no EventBridge trigger" in problems
