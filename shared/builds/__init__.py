"""Image Builder builds on a schedule, exactly once (issue #14): ``planner`` (pure), ``executor`` (ledger
compare-and-set, then the Image Builder call), ``service`` (the tick: one paged listing per region).

The kernel pieces are shared, not copied (``shared.apply``): every action is a ``Step`` bound to the record
version it was planned from, ``BuildExecutor`` is a ``RecordExecutor`` (one action loop, one ``_move`` /
``_fail`` rule), ``Backoff`` and ``client_token``; the key is built in ``shared.ledger.keys``.
"""
