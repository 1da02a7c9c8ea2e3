"""The CR backend, composed of mixins so each file stays small.

* ``models_base``: data classes, ids, lookups, seeding, the push control call and its CloudEvent;
* ``models_sync``: sync tasks, sync rules (PASSIVE rules fire on push) and the task clock.

Methods raise :class:`emulator.acr.exceptions.AcrBusinessError` and never touch HTTP.
"""

from __future__ import annotations

from emulator.acr.models_base import AcrInstance, Namespace, Repo, TagRecord
from emulator.acr.models_sync import ImageRef, SyncMixin, SyncRule, SyncRuleRequest, SyncTask, SyncTaskRequest

__all__ = [
    "AcrBackend", "AcrInstance", "ImageRef", "Namespace", "Repo", "SyncRule", "SyncRuleRequest", "SyncTask",
    "SyncTaskRequest", "TagRecord",
]


class AcrBackend(SyncMixin):
    """All CR state of one emulator (one account)."""
