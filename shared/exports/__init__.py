"""Off-peak batch exports of ECS images to same-region OSS buckets: targets, planner, executor."""
