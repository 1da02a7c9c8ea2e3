"""Cross-account distribution (issue #13): share → partner same-region copy → partner cross-region copies →
unshare, each hop a ledger record, on the kernel's Step/apply_all and the replication feature's provenance."""
