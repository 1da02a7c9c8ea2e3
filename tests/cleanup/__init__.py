"""Tests of the cleanup feature."""
