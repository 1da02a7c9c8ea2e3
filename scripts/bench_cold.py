"""Cold start of one function, measured inside a fresh interpreter (run by `scripts/bench.py`).

`python -m scripts.bench_cold handler <function>`: handler import + client build + the first
invocation against the emulator (IMAGE_RELAY_ENDPOINT), then the SDK modules that invocation loaded.
`python -m scripts.bench_cold sdk <module,...>`: the bare SDK: import those modules, build one client,
make one call. Both print one JSON line `{"seconds": ..., "cpu_seconds": ..., "sdk": [...]}` on stdout; logs
go to a file. The bare-SDK code is a string run by `exec` so that no module here imports an SDK (house rule).

Fairness: no module of the project is imported before the clock starts (the logging set-up, which sends
the function's log lines to the bench's file, is inside the measured time on the handler's side, as FC
imports it with the handler). `cpu_seconds` is this process's CPU time over the same span: the
emulator's server work is in another process and counts on neither side, and a busy machine moves it
far less than the wall time.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any

_SERVICE_CLIENT = re.compile(r"^alibabacloud_[a-z_]+\d{8}\.client$")  # e.g. alibabacloud_ecs20140526.client

# One event per function: what its trigger sends in the simplest real case.
EVENTS: dict[str, bytes] = {
    "image_created": b"",  # filled in from scripts.sample_world at run time (an ActionTrail CreateImage)
    "reconcile": b'{"triggerName": "reconcile-every-5m", "payload": ""}',
    "export_batch": b'{"triggerName": "export-nightly", "payload": ""}',
    "acr_push": b"",  # tests/events/acr_push_completed.json
    "cleanup": b'{"action": "cleanup"}',
}

# The bare SDK: import the modules, build a client for the emulator, one call. ECS DescribeRegions, or CR
# ListInstance when CR is the only RPC SDK loaded (oss2 is imported only: its first call needs a bucket).
BARE = """
import importlib
for name in MODULES:
    importlib.import_module(name)
Config = importlib.import_module("alibabacloud_tea_openapi.utils_models").Config
config = Config(access_key_id="test-ak", access_key_secret="test-secret", region_id="cn-hangzhou",
                endpoint=ENDPOINT, protocol="http")
if any(m.startswith("alibabacloud_ecs") for m in MODULES) or not any(m.startswith("alibabacloud_cr") for m in MODULES):
    sdk = "alibabacloud_ecs20140526"
    models = importlib.import_module(sdk + ".models")
    importlib.import_module(sdk + ".client").Client(config).describe_regions(models.DescribeRegionsRequest())
else:
    sdk = "alibabacloud_cr20181201"
    models = importlib.import_module(sdk + ".models")
    importlib.import_module(sdk + ".client").Client(config).list_instance(models.ListInstanceRequest())
"""


def _sdk_modules() -> list[str]:
    """The SDK client modules (and oss2) this interpreter has loaded."""
    return sorted(m for m in sys.modules if _SERVICE_CLIENT.match(m) or m == "oss2")


def _event(function: str) -> bytes:
    if function == "image_created":
        from scripts.sample_world import SOURCE, create_image_event
        return create_image_event(SOURCE, "m-bp1demoweb0001", "app-web-2026-11")
    if function == "acr_push":
        from pathlib import Path

        from scripts.sample_world import ACCOUNT_ID
        doc = json.loads((Path(__file__).resolve().parents[1] / "tests" / "events" / "acr_push_completed.json")
                         .read_bytes())
        doc["aliyunaccountid"] = ACCOUNT_ID  # the local context's account: another account's push is refused
        return json.dumps(doc).encode()
    return EVENTS[function]


def run_handler(function: str) -> dict[str, Any]:
    import importlib

    event = _event(function)
    started, cpu = time.perf_counter(), time.process_time()
    from shared.logs import configure_logging

    configure_logging(stream=open(os.environ.get("IMAGE_RELAY_BENCH_LOG", os.devnull), "a"))  # noqa: SIM115
    module = importlib.import_module(f"functions.{function}.handler")
    from scripts.invoke import FUNCTIONS
    from shared.runtime import FCCredentials, make_local_context
    context = make_local_context(function, timeout=FUNCTIONS[function][1],
                                 credentials=FCCredentials("test-ak", "test-secret", ""))
    module.handler(event, context)
    return {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
            "sdk": _sdk_modules()}


def run_bare(modules: list[str]) -> dict[str, Any]:
    endpoint = os.environ["IMAGE_RELAY_ENDPOINT"].split("://", 1)[-1]
    started, cpu = time.perf_counter(), time.process_time()
    exec(BARE, {"MODULES": modules, "ENDPOINT": endpoint})  # noqa: S102 - fixed code, see module docstring
    return {"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
            "sdk": _sdk_modules()}


def main() -> None:
    mode, arg = sys.argv[1], sys.argv[2]
    result = run_handler(arg) if mode == "handler" else run_bare([m for m in arg.split(",") if m])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
