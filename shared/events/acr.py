"""What the ACR replication function accepts: a ``cr:Artifact:PushCompleted`` CloudEvent, or a
person's request (backfill one rule, or replicate one tag).

```json
{"id": "…", "source": "acs.cr", "type": "cr:Artifact:PushCompleted", "aliyunregionid": "cn-hangzhou",
 "data": {"InstanceId": "cri-…", "RepoNamespaceName": "web", "RepoName": "frontend", "Tag": "v1.2.3", …}}
{"action": "backfill", "rule": "web", "tag_regex": "^v1\\\\.", "max_age_days": 30, "dry_run": true, "max_tags": 500}
{"action": "replicate_tag", "instance_id": "cri-…", "namespace": "web", "repository": "frontend", "tag": "v1.2.3"}
```

The PushCompleted ``data`` keys are INFERRED (alibaba-api.md §4.2: no published sample; the
BuildCompleted sample uses PascalCase). They are therefore read defensively:

* PascalCase first (``InstanceId, InstanceName, RegionId, RepoId, RepoNamespaceName, RepoName,
  Tag, Digest``), then camelCase variants (``instanceId, instanceName, regionId, repoId,
  repoNamespaceName`` or ``namespace``, ``repoName, tag, digest``). A key whose value is
  ``null`` counts as absent. When two spellings carry *different* values the event is refused
  (field = the first spelling): guessing which one is right could replicate the wrong tag.
* Unknown keys are ignored. The region comes from ``data.RegionId`` (or ``regionId``), else from
  the envelope's ``aliyunregionid``.
* The account id (envelope ``aliyunaccountid``) stays a string; masked ids such as
  ``123456789098****`` (documentation samples) are accepted and never parsed as a number.
* Anything missing or malformed raises ``EventValidationError`` whose ``field`` names the key
  (``data.Tag``, ``type``, ``aliyunaccountid`` …); missing keys are named by their PascalCase
  spelling. Nothing else is ever raised.

An event is a hint, not proof: the function confirms the tag with ``ListRepoTag`` before acting.
Manual requests refuse unknown keys, so a typo (``dryrun``) cannot turn a dry run into a real one.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.errors import EventValidationError
from shared.events.envelopes import decode_json, envelope_kind, require_object, validate
from shared.events.models import CloudEvent
from shared.values import MAX_ACR_NAME_LENGTH as MAX_NAME_LENGTH
from shared.values import (
    AcrInstanceId,
    AcrName,
    BoundedRegex,
    RuleName,
    is_acr_instance_id,
    is_acr_name,
    is_region,
)

__all__ = [
    "ACR_PUSH_COMPLETED",
    "ACR_SOURCE",
    "AcrRequest",
    "BackfillRequest",
    "ReplicateTag",
    "TagPushed",
    "is_acr_instance_id",
    "is_acr_name",
    "is_docker_tag",
    "parse_acr_request",
    "parse_push_event",
]

ACR_SOURCE = "acs.cr"
ACR_PUSH_COMPLETED = "cr:Artifact:PushCompleted"
_REPO_ID = re.compile(r"^crr-[a-z0-9]+\Z")
# Docker tag grammar: a word character, then up to 127 word characters, '.' or '-'.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
# OCI digest grammar: algorithm ':' encoded (sha256:<64 hex> in practice).
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}\Z")
# Digits, optionally masked with trailing or inner '*' as in documentation samples.
_ACCOUNT = re.compile(r"^[0-9][0-9*]{0,39}\Z")


def is_docker_tag(value: str) -> bool:
    """True for an image tag such as ``v1.2.3`` (Docker's grammar, at most 128 characters)."""
    return _TAG.match(value) is not None


class TagPushed(BaseModel):
    """A tag now exists in ``instance_id`` (``namespace/repository:tag``): the replicator's input."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    event_id: str | None
    region: str
    instance_id: str
    instance_name: str | None
    namespace: str
    repository: str
    tag: str
    digest: str | None
    repo_id: str | None
    account_id: str | None


class _Manual(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)


class BackfillRequest(_Manual):
    """Replicate the tags that already exist under one rule (a rule only sees later pushes).

    ``tag_regex`` (a search, RE2 syntax) narrows the rule's own tag filter, ``max_age_days`` skips
    older tags, ``max_tags`` caps the plan (blast radius), ``dry_run`` only reports the plan.
    """

    action: Literal["backfill"]
    rule: RuleName
    tag_regex: BoundedRegex | None = None
    max_age_days: int | None = Field(default=None, ge=1, le=3650)
    dry_run: bool = False
    max_tags: int = Field(default=500, ge=1, le=10_000)



class ReplicateTag(_Manual):
    """Replicate one tag of one repository now, to every target of the rules that match it."""

    action: Literal["replicate_tag"]
    instance_id: AcrInstanceId
    namespace: AcrName
    repository: AcrName
    tag: str

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not is_docker_tag(value):
            raise ValueError(f"not an image tag: {value[:80]!r}")
        return value


AcrRequest = TagPushed | BackfillRequest | ReplicateTag

_ACTIONS: dict[str, type[_Manual]] = {"backfill": BackfillRequest, "replicate_tag": ReplicateTag}


def _optional(data: dict[str, Any], *keys: str) -> tuple[str | None, str]:
    """(value, "data.<key>") of the first present spelling; refuses non-strings and conflicts."""
    found: tuple[str, str] | None = None
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        field = f"data.{key}"
        if not isinstance(value, str):
            raise EventValidationError(f"expected a string, got {type(value).__name__}", field=field)
        if not value:
            raise EventValidationError("must not be empty", field=field)
        if found is None:
            found = (value, field)
        elif found[0] != value:
            raise EventValidationError(f"conflicts with {field} ({value[:80]!r})", field=found[1])
    if found is None:
        return None, f"data.{keys[0]}"
    return found


def _required(data: dict[str, Any], *keys: str) -> tuple[str, str]:
    value, field = _optional(data, *keys)
    if value is None:
        others = ", ".join(f"data.{k}" for k in keys[1:])
        raise EventValidationError(f"missing (also looked for {others})", field=field)
    return value, field


def _check(value: str, field: str, ok: bool, what: str) -> str:
    if not ok:
        raise EventValidationError(f"not {what}: {value[:80]!r}", field=field)
    return value


def _from_cloudevent(doc: dict[str, Any]) -> TagPushed:
    envelope = validate(CloudEvent, doc)
    if envelope.type != ACR_PUSH_COMPLETED:
        raise EventValidationError(f"expected {ACR_PUSH_COMPLETED}, got {envelope.type[:80]!r}", field="type")
    if envelope.source != ACR_SOURCE:
        raise EventValidationError(f"expected {ACR_SOURCE}, got {envelope.source[:80]!r}", field="source")
    data = envelope.data

    instance_id, f = _required(data, "InstanceId", "instanceId")
    _check(instance_id, f, is_acr_instance_id(instance_id), "an ACR instance id (cri-[a-z0-9]+)")
    namespace, f = _required(data, "RepoNamespaceName", "repoNamespaceName", "namespace")
    _check(namespace, f, is_acr_name(namespace), "a namespace name")
    repository, f = _required(data, "RepoName", "repoName")
    _check(repository, f, is_acr_name(repository), "a repository name")
    tag, f = _required(data, "Tag", "tag")
    _check(tag, f, is_docker_tag(tag), "an image tag")

    region, f = _optional(data, "RegionId", "regionId")
    if region is None:
        if envelope.aliyunregionid is None:
            raise EventValidationError("missing (and no aliyunregionid on the envelope)", field="data.RegionId")
        region, f = envelope.aliyunregionid, "aliyunregionid"
    _check(region, f, is_region(region), "a region id")

    digest, f = _optional(data, "Digest", "digest")
    if digest is not None:
        _check(digest, f, len(digest) <= MAX_NAME_LENGTH and _DIGEST.match(digest) is not None, "a digest")
    repo_id, f = _optional(data, "RepoId", "repoId")
    if repo_id is not None:
        _check(repo_id, f, len(repo_id) <= 64 and _REPO_ID.match(repo_id) is not None, "a repository id (crr-…)")
    instance_name, f = _optional(data, "InstanceName", "instanceName")
    if instance_name is not None:
        _check(instance_name, f, len(instance_name) <= MAX_NAME_LENGTH, "an instance name (too long)")
    account = envelope.aliyunaccountid
    if account is not None:
        _check(account, "aliyunaccountid", _ACCOUNT.match(account) is not None, "an account id")

    return TagPushed(
        event_id=envelope.id,
        region=region,
        instance_id=instance_id,
        instance_name=instance_name,
        namespace=namespace,
        repository=repository,
        tag=tag,
        digest=digest,
        repo_id=repo_id,
        account_id=account,
    )


def parse_push_event(raw: bytes | bytearray | str | dict[str, Any]) -> TagPushed:
    """Parse a ``cr:Artifact:PushCompleted`` CloudEvent; ``EventValidationError`` names a bad field.

    Examples
    --------
    >>> event = {"id": "e1", "source": "acs.cr", "type": "cr:Artifact:PushCompleted",
    ...          "aliyunregionid": "cn-hangzhou", "aliyunaccountid": "123456789098****",
    ...          "data": {"InstanceId": "cri-hzsrc01", "RepoNamespaceName": "web",
    ...                   "RepoName": "frontend", "Tag": "v1.2.3"}}
    >>> pushed = parse_push_event(event)
    >>> pushed.region, pushed.tag, pushed.account_id
    ('cn-hangzhou', 'v1.2.3', '123456789098****')
    """
    doc = require_object(decode_json(raw))
    kind = envelope_kind(doc)
    if kind == "manual":
        raise EventValidationError("a manual request, not a CloudEvent (use parse_acr_request)", field="action")
    if kind == "empty":
        raise EventValidationError(f"empty event: expected a {ACR_PUSH_COMPLETED} CloudEvent", field="event")
    return _from_cloudevent(doc)


def parse_acr_request(raw: bytes | bytearray | str | dict[str, Any]) -> AcrRequest:
    """A PushCompleted CloudEvent, or a manual ``backfill`` / ``replicate_tag`` request.

    Examples
    --------
    >>> parse_acr_request(b'{"action": "backfill", "rule": "web", "dry_run": true}').max_tags
    500
    """
    doc = require_object(decode_json(raw))
    kind = envelope_kind(doc)
    if kind == "empty":
        raise EventValidationError("empty event: expected a CloudEvent or a manual request", field="event")
    if kind == "cloudevent":
        return _from_cloudevent(doc)
    action = doc.get("action")
    model = _ACTIONS.get(action) if isinstance(action, str) else None
    if model is None:
        raise EventValidationError(
            f"unknown action {str(action)[:40]!r}; expected one of {sorted(_ACTIONS)}", field="action"
        )
    return validate(model, doc)  # type: ignore[return-value]
