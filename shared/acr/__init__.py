"""ACR Enterprise Edition cross-region replication: targets (``SyncTarget`` payload), the pure planner, the
executor (a ``shared.apply.RecordExecutor``) and the use cases (``service``)."""
