"""ACR Enterprise Edition cross-region replication: targets, the pure planner, executor and use cases."""
