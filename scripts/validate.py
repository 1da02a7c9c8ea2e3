"""`image-relay validate-policy` and `image-relay schema`: the policy checked and described for a person.

JSON shape of `validate-policy --json` (stable): ``{"file", "valid": true, "copy_rules": [names],
"export_rules": [names], "acr_rules": [names], "cleanup": bool}`` (plus ``"warnings": [text]`` when a valid
policy asks for something ECS will not do, e.g. an export format ECS ignores in a region) or ``{"file",
"valid": false, "errors": [{"field", "message", "line", "column"}]}``.
"""
from __future__ import annotations

from typing import Any

from scripts.tables import console
from shared.errors import ConfigError
from shared.exports.targets import format_warnings
from shared.policy import Policy, check_policy
from shared.policy.errors import Problem

SCHEMA_ID = "https://image-relay.local/policy.schema.json"


def validate_file(path: str) -> dict[str, Any]:
    """Check the policy at `path`; every problem, not only the first."""
    try:
        policy, found = check_policy(path)
    except ConfigError as exc:  # the file cannot be read
        found, policy = [Problem(exc.field or "", exc.message)], None
    if policy is None:
        return {"file": path, "valid": False, "errors": [p.as_dict() for p in found]}
    result: dict[str, Any] = {
        "file": path, "valid": True, "copy_rules": [r.name for r in policy.copy_rules],
        "export_rules": [r.name for r in policy.export_rules], "acr_rules": [r.name for r in policy.acr_rules],
        "cleanup": policy.cleanup is not None}
    warnings = format_warnings(policy)
    if warnings:  # valid (exit code 0), but ECS will not do what a rule asks
        result["warnings"] = warnings
    return result


def report(result: dict[str, Any]) -> None:
    """The human form: one line per problem, `file:line:column: field: message`, like a compiler."""
    out = console()
    if result["valid"]:
        rules = ", ".join(f"{len(result[k])} {k.replace('_', ' ')}" for k in ("copy_rules", "export_rules",
                                                                             "acr_rules"))
        out.print(f"{result['file']}: valid ({rules}; cleanup {'on' if result['cleanup'] else 'off'})",
                  markup=False, soft_wrap=True)
        for warning in result.get("warnings", []):
            out.print(f"{result['file']}: warning: {warning}", markup=False, soft_wrap=True)
        return
    for error in result["errors"]:
        out.print(Problem(**error).text(result["file"]), markup=False, soft_wrap=True)
    out.print(f"{len(result['errors'])} problem(s)", markup=False)


def policy_schema() -> dict[str, Any]:
    """The policy's JSON Schema (draft 2020-12), from the pydantic models."""
    schema = Policy.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "image-relay policy", **schema}
