"""Extract ROS resource property schemas from Alibaba's published ROS CDK packages (issue #11).

Why: template.yml must pass the property validation ROS itself applies, not only our reading of the docs
(house-style §13). Alibaba generates, per resource type, a validator and a "to ROS template" mapper in the
CDK packages (``ros-cdk-fc``, ``ros-cdk-ram``, ``ros-cdk-oss``, ``ros-cdk-sls``; ``lib/<x>.generated.js``
inside the npm tarball each PyPI wheel embeds under ``<pkg>/_jsii/``). From those two functions we read,
offline, each property's ROS name, type (string / number / boolean / any, list of, map of, or a nested
struct), whether it is required, and its allowed values.

``python -m scripts.ros_schemas WHEEL_OR_DIR... [--out tests/data/ros_schemas.json]`` regenerates the data
file ``tests/deploy/test_ros_schema.py`` reads; ``--download DIR`` first fetches the wheels with pip (the only
step that needs the network)::

    python -m scripts.ros_schemas --download build/ros-cdk

Only resource types the template uses are kept (``--all`` keeps every type).
"""
from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "ros_schemas.json"
PACKAGES = ("ros-cdk-fc", "ros-cdk-ram", "ros-cdk-oss", "ros-cdk-sls")

_RESOURCE = re.compile(r'^(Ros\w+)\.ROS_RESOURCE_TYPE_NAME = "([^"]+)";', re.M)
_FUNCTION = re.compile(r"^function (\w+)\((?:properties)[^)]*\) \{\n(.*?)^\}", re.M | re.S)
_RETURN_ENTRY = re.compile(r"^\s*'(\w+)': (.+)\(properties\.(\w+)\),$", re.M)
_VALIDATOR_CALL = re.compile(r"(\w+Validator)\(properties\)\.assertSuccess\(\)")
_REQUIRED = re.compile(r"ros\.propertyValidator\('(\w+)', ros\.requiredValidator\)")
_ALLOWED = re.compile(r"ros\.propertyValidator\('(\w+)', ros\.validateAllowedValues\)\(\{\s*data: [^,]+,\s*"
                      r"allowedValues: (\[.*?\]),\s*\}\)", re.S)
_CLASS = re.compile(r"^class (Ros\w+) extends ros\.RosResource \{\n(.*?)^\}", re.M | re.S)
_ATTRIBUTE = re.compile(r"this\.getAtt\('(\w+)'\)")
_SCALARS = {"ros.stringToRosTemplate": "string", "ros.numberToRosTemplate": "number",
            "ros.booleanToRosTemplate": "boolean", "ros.objectToRosTemplate": "any",
            "ros.anyDictToRosTemplate": "any"}


def _split_call(expr: str) -> tuple[str, str]:
    """``f(inner)`` → (``f``, ``inner``) with balanced parentheses."""
    head, _, rest = expr.partition("(")
    depth, end = 1, 0
    for index, char in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            end = index
            break
    return head, rest[:end]


def mapper_type(expr: str, structs: set[str]) -> Any:
    """The type a mapper expression renders: a scalar name, {"list": t}, {"map": t} or {"struct": name}."""
    expr = expr.strip()
    if expr in _SCALARS:
        return _SCALARS[expr]
    if expr in structs:
        return {"struct": expr}
    head, inner = _split_call(expr)
    if head == "ros.listMapper":
        return {"list": mapper_type(inner, structs)}
    if head == "ros.hashMapper":
        return {"map": mapper_type(inner, structs)}
    return "any"  # unions and anything new: accepted, never guessed


def _struct(body: str, functions: dict[str, str], structs: set[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    camel_to_ros: dict[str, str] = {}
    for ros_name, mapper, camel in _RETURN_ENTRY.findall(body):
        properties[ros_name] = {"type": mapper_type(mapper, structs), "required": False}
        camel_to_ros[camel] = ros_name
    validator = _VALIDATOR_CALL.search(body)
    checks = functions.get(validator.group(1), "") if validator else ""
    for camel in _REQUIRED.findall(checks):
        if camel in camel_to_ros:
            properties[camel_to_ros[camel]]["required"] = True
    for camel, values in _ALLOWED.findall(checks):
        if camel in camel_to_ros:
            try:
                properties[camel_to_ros[camel]]["allowed"] = json.loads(values)
            except ValueError:
                pass  # a non-JSON literal: leave the values unchecked
    return properties


def extract_js(source: str) -> dict[str, Any]:
    """``{"resources": {type: struct}, "structs": {mapper name: struct}}`` of one ``*.generated.js``."""
    functions = {name: body for name, body in _FUNCTION.findall(source)}
    structs = {n for n in functions if n.startswith("ros") and n.endswith("PropertyToRosTemplate")}
    out: dict[str, Any] = {"resources": {}, "structs": {}, "attributes": {}}
    classes = {name: body for name, body in _CLASS.findall(source)}
    for name in sorted(structs):
        out["structs"][name] = _struct(functions[name], functions, structs)
    for cls, rtype in _RESOURCE.findall(source):
        mapper = f"ros{cls[3:]}PropsToRosTemplate"
        if mapper in functions:
            out["resources"][rtype] = _struct(functions[mapper], functions, structs)
            out["attributes"][rtype] = sorted(set(_ATTRIBUTE.findall(classes.get(cls, ""))))
    return out


def generated_sources(path: Path) -> dict[str, str]:
    """``lib/*.generated.js`` texts of a ros-cdk wheel (its embedded jsii npm tarball)."""
    found: dict[str, str] = {}
    with zipfile.ZipFile(path) as wheel:
        for name in wheel.namelist():
            if name.endswith(".jsii.tgz"):
                with tarfile.open(fileobj=io.BytesIO(wheel.read(name))) as tgz:
                    for member in tgz.getmembers():
                        if member.name.endswith(".generated.js") and "/datasource/" not in member.name:
                            handle = tgz.extractfile(member)
                            if handle is not None:
                                found[f"{Path(path).name}:{member.name}"] = handle.read().decode()
    return found


def extract(wheels: list[Path], keep: set[str] | None) -> dict[str, Any]:
    """Merge every wheel's schemas; keep only the resource types in ``keep`` (None: all) and their structs."""
    merged: dict[str, Any] = {"sources": [], "resources": {}, "structs": {}, "attributes": {}}
    for wheel in sorted(wheels):
        merged["sources"].append(wheel.name)
        for text in generated_sources(wheel).values():
            part = extract_js(text)
            merged["resources"].update(part["resources"])
            merged["structs"].update(part["structs"])
            merged["attributes"].update(part["attributes"])
    if keep is not None:
        merged["resources"] = {k: v for k, v in merged["resources"].items() if k in keep}
        merged["attributes"] = {k: v for k, v in merged["attributes"].items() if k in keep}
        used: set[str] = set()
        pending = [p["type"] for r in merged["resources"].values() for p in r.values()]
        while pending:
            item = pending.pop()
            if isinstance(item, dict):
                name = item.get("struct")
                if name and name not in used:
                    used.add(name)
                    pending += [p["type"] for p in merged["structs"][name].values()]
                pending += [v for k, v in item.items() if k in ("list", "map")]
        merged["structs"] = {k: v for k, v in merged["structs"].items() if k in used}
    return merged


def template_types() -> set[str]:
    """The resource types template.yml uses."""
    import yaml

    doc = yaml.safe_load((ROOT / "template.yml").read_text())
    return {r["Type"] for r in doc["Resources"].values()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.ros_schemas", description=__doc__.splitlines()[0])
    parser.add_argument("wheels", nargs="*", type=Path, help="ros-cdk-* wheels or directories holding them")
    parser.add_argument("--download", type=Path, help="pip download the ros-cdk wheels into this directory first")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--all", action="store_true", help="keep every resource type, not only the template's")
    args = parser.parse_args(argv)
    paths = list(args.wheels)
    if args.download is not None:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(args.download),
                        *PACKAGES], check=True)
        paths.append(args.download)
    wheels = [w for p in paths for w in ([p] if p.is_file() else sorted(p.glob("ros_cdk_*.whl")))]
    if not wheels:
        parser.error("no ros_cdk_*.whl given")
    data = extract(wheels, None if args.all else template_types())
    missing = sorted(template_types() - set(data["resources"]))
    if missing:
        print(f"no schema for {', '.join(missing)}: add its ros-cdk package", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}: {len(data['resources'])} resource types, {len(data['structs'])} structs from "
          f"{', '.join(data['sources'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
