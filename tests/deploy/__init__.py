"""Tests of the deploy feature."""
