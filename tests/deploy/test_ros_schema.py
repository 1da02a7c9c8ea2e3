"""Meta-test: every resource of template.yml against the property schemas Alibaba publishes for ROS.

The schemas (``tests/data/ros_schemas.json``) are extracted offline from the ROS CDK packages' generated
validators by ``python -m scripts.ros_schemas`` (issue #11): property names, required ones, types
(string / number / boolean / any, lists, maps, nested structs), allowed values and ``Fn::GetAtt`` attributes.
Intrinsic functions are not evaluated, except that ``Fn::If`` is checked branch by branch
(``{"Ref": "ALIYUN::NoValue"}`` is an absent property) and a ``Ref`` to a parameter has the parameter's type.
Each check has a twin that breaks a copy of the template.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = json.loads((ROOT / "tests" / "data" / "ros_schemas.json").read_text())
NO_VALUE = {"Ref": "ALIYUN::NoValue"}
#: The ROS parameter types and the property type a Ref to one gives.
PARAMETER_TYPES = {"String": "string", "Number": "number", "Boolean": "boolean", "Json": "any",
                   "CommaDelimitedList": {"list": "string"}}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "template.yml").read_text())


class Checker:
    """Walks one template's resources; ``problems`` collects ``<path>: <what is wrong>``."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.parameters = doc.get("Parameters") or {}
        self.problems: list[str] = []

    def run(self) -> list[str]:
        for logical, resource in sorted(self.doc["Resources"].items()):
            rtype = resource.get("Type")
            schema = SCHEMAS["resources"].get(rtype)
            if schema is None:
                self.problems.append(f"{logical}: no ROS schema for type {rtype!r}")
                continue
            self.struct(resource.get("Properties") or {}, schema, f"{logical}.Properties")
        self.attributes()
        return self.problems

    def struct(self, value: Any, schema: dict[str, Any], path: str) -> None:
        if self.intrinsic(value, lambda v, p: self.struct(v, schema, p), path):
            return
        if not isinstance(value, dict):
            self.problems.append(f"{path}: expected a mapping, got {type(value).__name__}")
            return
        present = {k for k, v in value.items() if v != NO_VALUE}
        for name in sorted(present - set(schema)):
            self.problems.append(f"{path}.{name}: unknown property")
        for name, spec in sorted(schema.items()):
            if name in present:
                self.value(value[name], spec["type"], f"{path}.{name}", spec.get("allowed"))
            elif spec["required"]:
                self.problems.append(f"{path}.{name}: required property missing")

    def value(self, value: Any, kind: Any, path: str, allowed: list[Any] | None = None) -> None:
        if self.intrinsic(value, lambda v, p: self.value(v, kind, p, allowed), path, kind):
            return
        if isinstance(kind, dict) and "struct" in kind:
            self.struct(value, SCHEMAS["structs"][kind["struct"]], path)
        elif isinstance(kind, dict) and "list" in kind:
            if not isinstance(value, list):
                self.problems.append(f"{path}: expected a list, got {type(value).__name__} {value!r}")
                return
            for index, item in enumerate(value):
                self.value(item, kind["list"], f"{path}[{index}]")
        elif isinstance(kind, dict) and "map" in kind:
            if not isinstance(value, dict):
                self.problems.append(f"{path}: expected a mapping, got {type(value).__name__}")
                return
            for key, item in value.items():
                self.value(item, kind["map"], f"{path}.{key}")
        elif not _scalar_ok(value, kind):
            self.problems.append(f"{path}: expected {kind}, got {type(value).__name__} {value!r}")
        elif allowed is not None and value not in allowed:
            self.problems.append(f"{path}: {value!r} is not one of {allowed}")

    def intrinsic(self, value: Any, check: Any, path: str, kind: Any = None) -> bool:
        """True when ``value`` is a function call (checked as far as it can be without evaluating it)."""
        if not (isinstance(value, dict) and len(value) == 1):
            return False
        (name, args), = value.items()
        if name == "Fn::If":
            for branch in args[1:]:
                if branch != NO_VALUE:
                    check(branch, path)
            return True
        if name == "Ref" and kind is not None and args in self.parameters:
            given = PARAMETER_TYPES.get(self.parameters[args].get("Type", "String"), "any")
            if kind != "any" and given != "any" and given != kind:
                self.problems.append(f"{path}: Ref {args} is a {self.parameters[args].get('Type')} parameter, "
                                     f"expected {kind}")
            return True
        return name == "Ref" or name.startswith("Fn::")

    def attributes(self) -> None:
        """Every ``Fn::GetAtt [resource, attribute]`` names an attribute the resource type has."""
        for path, (logical, attribute) in _get_atts(self.doc["Resources"], "Resources"):
            target = self.doc["Resources"].get(logical)
            if target is None:
                self.problems.append(f"{path}: Fn::GetAtt of unknown resource {logical}")
            elif attribute not in SCHEMAS["attributes"].get(target["Type"], []):
                self.problems.append(f"{path}: {target['Type']} has no attribute {attribute}")


def _scalar_ok(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return False


def _get_atts(node: Any, path: str) -> list[tuple[str, tuple[str, str]]]:
    if isinstance(node, dict):
        if set(node) == {"Fn::GetAtt"}:
            logical, attribute = node["Fn::GetAtt"]
            return [(path, (logical, attribute))]
        return [hit for k, v in node.items() for hit in _get_atts(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [hit for i, v in enumerate(node) for hit in _get_atts(v, f"{path}[{i}]")]
    return []


def check(doc: dict[str, Any]) -> list[str]:
    return Checker(doc).run()


# -- the template ----------------------------------------------------------------------------------------

def test_every_resource_matches_the_published_ros_schema(template):
    assert check(template) == []


def test_the_schemas_cover_every_type_of_the_template_and_come_from_the_cdk_packages(template):
    assert {r["Type"] for r in template["Resources"].values()} <= set(SCHEMAS["resources"])
    assert {s.split("-")[0] for s in SCHEMAS["sources"]} == {"ros_cdk_fc", "ros_cdk_oss", "ros_cdk_ram", "ros_cdk_sls"}
    statement = SCHEMAS["structs"]["rosRolePolicyDocumentStatementPropertyToRosTemplate"]
    assert statement["Resource"]["type"] == {"list": "any"}


def check_environment_strings(doc: dict[str, Any]) -> list[str]:
    """FC stores environment variables as strings: a value must be a string, a Sub, or a String parameter."""
    problems = []
    parameters = doc.get("Parameters") or {}
    for logical, resource in sorted(doc["Resources"].items()):
        for key, value in ((resource.get("Properties") or {}).get("EnvironmentVariables") or {}).items():
            if isinstance(value, dict) and "Ref" in value:
                kind = parameters.get(value["Ref"], {}).get("Type", "String")
                if kind != "String":
                    problems.append(f"{logical}.{key}: Ref {value['Ref']} is a {kind} parameter, not a String")
            elif not (isinstance(value, str) or (isinstance(value, dict) and "Fn::Sub" in value)):
                problems.append(f"{logical}.{key}: {value!r} is not a string")
    return problems


def test_environment_values_are_strings_as_fc_stores_them(template):
    assert check_environment_strings(template) == []


def test_on_failure_permissions_exist_only_with_a_destination_and_only_on_it(template):
    policy = template["Resources"]["OnFailurePolicy"]
    assert policy["Condition"] == "HasOnFailure"
    assert template["Conditions"]["HasOnFailure"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OnFailureDestination"}, ""]}]}
    assert policy["Properties"]["Roles"] == [{"Fn::GetAtt": ["FunctionRole", "RoleName"]}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [{"Ref": "OnFailureDestination"}]
    assert sorted(statement["Action"]) == ["eventbridge:PutEvents", "fc:InvokeFunction", "mns:PublishMessage",
                                           "mns:SendMessage"]


# -- twins -----------------------------------------------------------------------------------------------

def test_a_scalar_statement_resource_is_caught(template):
    broken = copy.deepcopy(template)
    statements = broken["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements[1]["Resource"] = "*"
    assert check(broken) == [
        "FunctionRole.Properties.Policies[0].PolicyDocument.Statement[1].Resource: expected a list, got str '*'"]


def test_unknown_missing_mistyped_and_disallowed_properties_are_caught(template):
    broken = copy.deepcopy(template)
    function = broken["Resources"]["ReconcileFunction"]["Properties"]
    function["Timeout"] = "600"
    function["Handlr"] = function.pop("Handler")
    function["InstanceType"] = "huge"
    broken["Resources"]["LogIndex"]["Properties"]["KeyIndices"][0]["Type"] = "blob"
    broken["Resources"]["ReconcileFunction"]["Properties"]["AsyncConfiguration"]["Destination"]["Fn::If"][1] = {
        "OnFailur": "x"}
    assert check(broken) == [
        "LogIndex.Properties.KeyIndices[0].Type: 'blob' is not one of ['text', 'long', 'double', 'json']",
        "ReconcileFunction.Properties.Handlr: unknown property",
        "ReconcileFunction.Properties.AsyncConfiguration.Destination.OnFailur: unknown property",
        "ReconcileFunction.Properties.Handler: required property missing",
        "ReconcileFunction.Properties.InstanceType: 'huge' is not one of "
        "['e1', 'c1', 'fc.gpu.tesla.1', 'fc.gpu.ampere.1', 'fc.gpu.ada.1', 'g1']",
        "ReconcileFunction.Properties.Timeout: expected number, got str '600'",
    ]


def test_a_number_parameter_into_a_string_property_and_a_bad_get_att_are_caught(template):
    broken = copy.deepcopy(template)
    broken["Parameters"]["ServiceName"]["Type"] = "Number"
    broken["Resources"]["Service"]["Properties"]["Role"] = {"Fn::GetAtt": ["FunctionRole", "RoleArn"]}
    broken["Resources"]["Nope"] = {"Type": "ALIYUN::FC::Nope", "Properties": {}}
    problems = check(broken)
    assert "Service.Properties.ServiceName: Ref ServiceName is a Number parameter, expected string" in problems
    assert "Resources.Service.Properties.Role: ALIYUN::RAM::Role has no attribute RoleArn" in problems
    assert "Nope: no ROS schema for type 'ALIYUN::FC::Nope'" in problems


def test_a_number_parameter_into_an_environment_variable_is_caught(template):
    broken = copy.deepcopy(template)
    broken["Parameters"]["FanoutThreshold"]["Type"] = "Number"
    broken["Resources"]["CleanupFunction"]["Properties"]["EnvironmentVariables"]["IMAGE_RELAY_LOG_LEVEL"] = 3
    assert check_environment_strings(broken) == [
        "CleanupFunction.IMAGE_RELAY_LOG_LEVEL: 3 is not a string",
        "ReconcileFunction.IMAGE_RELAY_FANOUT_THRESHOLD: Ref FanoutThreshold is a Number parameter, not a String"]
