"""Auto Scaling (ESS): scaling configurations, the part of ESS that can name an ECS image."""
