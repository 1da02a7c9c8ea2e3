"""Tests of the policy feature."""
