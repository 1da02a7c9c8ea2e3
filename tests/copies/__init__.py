"""Tests of the copies feature."""
