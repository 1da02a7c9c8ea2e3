"""Operator tooling over ``shared``: the ``image-relay`` CLI (``cli``, ``cli_ops``, ``status``, ``doctor``,
``validate``), the local emulator deployment (``local``, ``local_deploy``), the code package (``package``), the
demo, bench and the chaos suite (``chaos/``)."""
