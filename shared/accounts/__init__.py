"""Cross-account distribution (issue #13): share → partner same-region copy → partner cross-region copies →
unshare, each hop a ledger record (``hops``), the pure planner (``plan``), the executor (``executor``, a
``shared.apply.RecordExecutor``) and the use cases (``service``), with the replication feature's provenance."""
