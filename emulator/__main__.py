"""``python -m emulator --port 0 [--host 127.0.0.1] [--speed X]``.

Prints exactly one line ``emulator listening on http://HOST:PORT`` (flushed) and serves until SIGINT or
SIGTERM. ``--speed X`` makes virtual time run X× wall time (interactive demos); the default 0 keeps it
frozen between ``POST /_emulator/clock`` calls.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from emulator.server import Emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Local Alibaba Cloud emulator")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--speed", type=float, default=0.0, help="virtual seconds per wall second (0 = frozen)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the emulator, print its URL, wait for a signal, stop."""
    args = parse_args(argv)
    emu = Emulator(port=args.port, host=args.host, speed=args.speed).start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"emulator listening on {emu.url}", flush=True)
    while not stop.wait(0.5):
        pass
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
