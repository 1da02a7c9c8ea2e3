"""Every business key of the ledger, built and parsed here and nowhere else (design.md "The ledger").

Why one module: a key is the identity of an intent (a duplicate event lands on the same record), so
every feature must build it the same way, and a scan by prefix (``copy/<region>/<image>/``) or a
reader that splits a key (cleanup's in-flight guard, chaos checks) must agree with the builder. Every
part is checked the same way: non-empty and free of ``/`` (the separator), so ``parse_key`` is the
exact inverse of the builders.

Examples
--------
>>> copy_key("cn-hangzhou", "m-abc", "cn-beijing")
'copy/cn-hangzhou/m-abc/cn-beijing'
>>> parse_key("export/cn-hangzhou/m-1/qcow2")
('export', ('cn-hangzhou', 'm-1', 'qcow2'))
"""
from __future__ import annotations

from urllib.parse import quote

COPY = "copy"
EXPORT = "export"
ACR = "acr"
CLEANUP = "cleanup"
LEFTOVER = "leftover"  # a failed Image Builder build's instance, vSwitch or VPC the cleanup releases
BUILD = "build"
EVENT = "event"
SLOTS = "slots"
XSHARE = "xshare"  # account targets (issue #13): the share of an image with one account
XCOPY = "xcopy"  # account targets: a copy in the partner account


def _part(name: str, value: str) -> str:
    if not value or "/" in value:
        raise ValueError(f"{name} must be non-empty and contain no '/': {value!r}")
    return value


def _key(key_kind: str, **parts: str) -> str:
    return "/".join((key_kind, *(_part(name, value) for name, value in parts.items())))


def prefix(kind: str, *parts: str) -> str:
    """The scan prefix of every key of ``kind`` starting with ``parts`` (each checked like a key part).

    Examples
    --------
    >>> prefix("copy", "cn-hangzhou", "m-1")
    'copy/cn-hangzhou/m-1/'
    >>> prefix("export")
    'export/'
    """
    return "/".join((kind, *(_part(f"part {n}", p) for n, p in enumerate(parts)))) + "/"


def copy_key(src_region: str, image_id: str, dst_region: str) -> str:
    """Business key of one image copy: ``copy/<src>/<image>/<dst>``."""
    return _key(COPY, src_region=src_region, image_id=image_id, dst_region=dst_region)


def export_key(region: str, image_id: str, image_format: str) -> str:
    """Business key of one export: ``export/<region>/<image-id>/<format>``.

    Examples
    --------
    >>> export_key("cn-hangzhou", "m-1", "raw")
    'export/cn-hangzhou/m-1/raw'
    """
    return _key(EXPORT, region=region, image_id=image_id, image_format=image_format)


def acr_key(instance_id: str, namespace: str, repository: str, tag: str, target_instance: str,
            target_account: str | None = None) -> str:
    """Business key of one ACR sync: ``acr/<instance>/<namespace>/<repo>:<tag>/<target-instance>``, and for an
    instance of another account (issue #13) ``acr/<instance>/<namespace>/<repo>:<tag>/<account>/<target-instance>``
    (the instance implies its region, so the key is one per account, instance, region, repository and tag).

    Examples
    --------
    >>> acr_key("cri-a", "ns", "app", "v1", "cri-b")
    'acr/cri-a/ns/app:v1/cri-b'
    >>> acr_key("cri-a", "ns", "app", "v1", "cri-p", "2222222222222222")
    'acr/cri-a/ns/app:v1/2222222222222222/cri-p'
    """
    source = {"instance_id": instance_id, "namespace": namespace,
              "repository_tag": f"{_part('repository', repository)}:{_part('tag', tag)}"}
    if target_account is None:
        return _key(ACR, **source, target_instance=target_instance)
    return _key(ACR, **source, target_account=target_account, target_instance=target_instance)


def cleanup_key(region: str, image_id: str) -> str:
    """Business key of one cleanup decision.

    Examples
    --------
    >>> cleanup_key("cn-hangzhou", "m-1")
    'cleanup/cn-hangzhou/m-1'
    """
    return _key(CLEANUP, region=region, image_id=image_id)


def leftover_key(region: str, resource_id: str) -> str:
    """Business key of releasing one leftover of a failed build (an instance, vSwitch or VPC id).

    Examples
    --------
    >>> leftover_key("cn-hangzhou", "i-1")
    'leftover/cn-hangzhou/i-1'
    """
    return _key(LEFTOVER, region=region, resource_id=resource_id)


def build_key(region: str, pipeline_ref: str, slot: str) -> str:
    """Business key of one scheduled build: ``build/<region>/<template id or name:…>/<slot>``.

    Examples
    --------
    >>> build_key("cn-hangzhou", "ip-1", "2026-11-25T02:00Z")
    'build/cn-hangzhou/ip-1/2026-11-25T02:00Z'
    """
    return _key(BUILD, region=region, pipeline_ref=pipeline_ref, slot=slot)


def xshare_key(source_region: str, image_id: str, account_id: str) -> str:
    """Business key of sharing an image with one account: ``xshare/<source region>/<image>/<account>``."""
    return _key(XSHARE, source_region=source_region, image_id=image_id, account_id=account_id)


def xcopy_key(source_region: str, image_id: str, account_id: str, region: str) -> str:
    """Business key of a copy in a partner account: ``xcopy/<source region>/<image>/<account>/<region>``."""
    return _key(XCOPY, source_region=source_region, image_id=image_id, account_id=account_id, region=region)


def slots_key(region: str) -> str:
    """The semaphore record of one destination region's copy slots."""
    return _key(SLOTS, feature=COPY, region=region)


def event_key(event_id: str) -> str:
    """Key under which a delivered CloudEvent id is remembered (percent-encoded, so any id is safe).

    Examples
    --------
    >>> event_key("45ef-7c35/fab****")
    'event/45ef-7c35%2Ffab%2A%2A%2A%2A'
    """
    if not event_id:
        raise ValueError("event_id must be non-empty")
    return f"{EVENT}/" + quote(event_id, safe="-_.")


def parse_key(key: str) -> tuple[str, tuple[str, ...]]:
    """(kind, parts) of a key built here; the inverse of the builders above.

    Examples
    --------
    >>> parse_key("cleanup/cn-hangzhou/m-1")
    ('cleanup', ('cn-hangzhou', 'm-1'))
    """
    kind, _, rest = key.partition("/")
    return kind, tuple(rest.split("/")) if rest else ()
