"""Outcome alerts: what ended badly, said once, to the sinks the policy names (see service.py)."""
