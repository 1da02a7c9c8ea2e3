"""Tests of the exports feature."""
