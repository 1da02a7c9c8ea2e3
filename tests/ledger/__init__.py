"""Tests of the ledger feature."""
