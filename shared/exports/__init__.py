"""Off-peak batch exports of ECS images to same-region OSS buckets: targets (``ExportTarget`` payload), the
pure planner, the executor (a ``shared.apply.RecordExecutor``), manifests and the use cases (``service``)."""
