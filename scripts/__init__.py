"""Operator tooling over ``shared``: the ``image-relay`` CLI (``cli``, ``cli_ops``, ``status``, ``doctor``,
``validate``), the local emulator deployment (``local``, ``local_deploy``), the code package (``package``), the
demo (``demo``, its own additions in ``demo_scene``), bench and the chaos suite (``chaos/``), and the sample
world they, ``local up`` and the tests all start from (``sample_world``)."""
