"""Operator tooling over ``shared``: the ``image-relay`` CLI, demo, bench and the chaos suite."""
