"""Tests of the ops feature."""
