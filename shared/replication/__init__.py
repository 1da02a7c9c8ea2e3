"""Cross-region copy of ECS custom images: targets (the typed ``CopyTarget`` payload), the pure tick planner,
its executor (a ``shared.apply.RecordExecutor``), queue/slots/wake-ups and the use cases (``service``)."""
