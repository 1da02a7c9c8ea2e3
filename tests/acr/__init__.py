"""Tests of the acr feature."""
