"""Image Builder builds on a schedule, exactly once (issue #14): ``planner`` (pure), ``executor`` (ledger
compare-and-set, then the Image Builder call), ``service`` (the tick: one paged listing per region).

The kernel pieces are shared, not copied: the action loop (``shared.apply``), the ledger's records and
compare-and-set, the replication feature's ``Backoff`` and ``client_token``.
"""
