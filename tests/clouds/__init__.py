"""Tests of the clouds feature."""
