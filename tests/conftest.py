"""Suite-wide guards.

The official credential chain ends with the ECS instance's RAM role, read from the metadata service at
100.100.100.200: tests never reach outside loopback, so that provider is off for the whole suite.
"""
import os

os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
