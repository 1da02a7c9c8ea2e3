"""Tests of the kernel feature."""
