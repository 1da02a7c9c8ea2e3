"""Cross-region copy of ECS custom images: targets, the pure tick planner, and its executor."""
