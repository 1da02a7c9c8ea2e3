"""CR business failures: answered as HTTP 200 ``{"Code": …, "IsSuccess": false, "Message": …}``.

The real service answers many business failures with HTTP 200 and ``IsSuccess: false`` (alibaba-api.md §3,
§7.4: the SDK does not raise). Authentication failures, injected faults and unknown actions stay 4xx/5xx
JSON errors of ``emulator.core.errors``.

UNCONFIRMED: every code below is an emulator choice (only the IsSuccess:false mechanism is verified):

* ``INSTANCE_NOT_EXIST``: no instance with that id (in the host's region, in proxy mode);
* ``NAMESPACE_NOT_EXIST``, ``REPO_NOT_EXIST``, ``TAG_NOT_EXIST``, ``SYNC_TASK_NOT_EXIST``;
* ``INSTANCE_SPECIFICATION_NOT_SUPPORT``: the sync source is not ``Enterprise_Advanced``;
* ``CROSS_REGION_NOT_ALLOWED``: replication from a public region into a finance/government region;
* ``PARAM_INVALID``: a required parameter is missing or a value does not parse / is out of range
  (PageSize > 100, Priority outside 1–5, a bad regex, an unknown SyncScope/SyncTrigger).
"""

from __future__ import annotations


class AcrBusinessError(Exception):
    """A business failure answered with HTTP 200 and ``IsSuccess: false``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def instance_not_exist(instance_id: str) -> AcrBusinessError:
    """No such instance."""
    return AcrBusinessError("INSTANCE_NOT_EXIST", f"instance {instance_id} does not exist")


def namespace_not_exist(instance_id: str, namespace: str) -> AcrBusinessError:
    """No such namespace in the instance."""
    return AcrBusinessError("NAMESPACE_NOT_EXIST", f"namespace {namespace} does not exist in {instance_id}")


def repo_not_exist(what: str) -> AcrBusinessError:
    """No such repository."""
    return AcrBusinessError("REPO_NOT_EXIST", f"repository {what} does not exist")


def tag_not_exist(tag: str) -> AcrBusinessError:
    """No such tag in the repository."""
    return AcrBusinessError("TAG_NOT_EXIST", f"tag {tag} does not exist")


def sync_task_not_exist(task_id: str) -> AcrBusinessError:
    """No such sync task on the instance."""
    return AcrBusinessError("SYNC_TASK_NOT_EXIST", f"sync task {task_id} does not exist")


def specification_not_support(instance_id: str, specification: str) -> AcrBusinessError:
    """Sync needs an Advanced-edition source."""
    return AcrBusinessError(
        "INSTANCE_SPECIFICATION_NOT_SUPPORT",
        f"instance {instance_id} is {specification}; replication needs Enterprise_Advanced",
    )


def cross_region_not_allowed(source: str, target: str) -> AcrBusinessError:
    """Public → finance/government replication."""
    return AcrBusinessError(
        "CROSS_REGION_NOT_ALLOWED", f"replication from public region {source} into {target} is not allowed"
    )


def param_invalid(message: str) -> AcrBusinessError:
    """A missing or malformed parameter."""
    return AcrBusinessError("PARAM_INVALID", message)
