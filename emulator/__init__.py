"""Local Alibaba Cloud emulator for image-relay: ECS, OSS, CR, ESS, FC and more on one service-agnostic core
(``emulator.core``); ``emulator.server`` registers the services.

Public API::

    from emulator import Emulator
    emu = Emulator(port=0, host="127.0.0.1").start()   # or: with Emulator() as emu: ...
    emu.url, emu.port, emu.endpoint, emu.control        # control: EmulatorControl
    emu.stop()

The emulator imports no ``alibabacloud_*`` or ``oss2`` module: it is the other side of the wire.
"""

from __future__ import annotations

from emulator.client import EmulatorControl, EmulatorControlError
from emulator.server import Emulator

__all__ = ["Emulator", "EmulatorControl", "EmulatorControlError"]
