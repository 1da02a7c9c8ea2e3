"""Tests of the builds feature."""
