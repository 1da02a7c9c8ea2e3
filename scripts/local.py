"""`image-relay local up`: the whole deployment on one machine, driven by events instead of manual invokes.

`LocalCloud` starts the emulator (ECS, CR, OSS and Function Compute), registers every function of
`scripts.invoke.FUNCTIONS` with the FC emulator (each runs the project's handler in-process with an FC-like
context: the calling AccessKey pair as credentials, the request id of the invocation), and wires the
emulator's event router with `template.yml`: EventBridge rules (an image created in the emulator, a pushed
ACR tag) and timers (reconcile, export_batch, cleanup on the virtual clock). The handlers read their settings
from the environment, so `start()` sets `IMAGE_RELAY_ENDPOINT` (the emulator), `IMAGE_RELAY_POLICY` and
`IMAGE_RELAY_STATE` in this process (restored by `stop()`), and the functions' own clock
(`shared.wiring.utcnow`) reads the emulator's virtual clock, as FC's clock is the cloud's: a timer's
`triggerTime` and the function's clock agree (the cleanup refuses a caller's time far from its clock).

The emulator package imports nothing from `functions/` or `shared/`: the runners are built here and injected.

Examples
--------
>>> with LocalCloud(scene="demo") as cloud:                      # doctest: +SKIP
...     cloud.emulator.control.advance(300)     # timer ticks fire reconcile
...     cloud.wait_idle()
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import yaml

from emulator import Emulator
from emulator.fc.router import EventRouter
from emulator.fc.template import DEFAULT_SERVICE, read_template
from scripts import sample_world
from scripts.invoke import EMULATOR_CREDENTIALS, FUNCTIONS, load_handler
from scripts.local_deploy import Deployment, deploy_stack
from shared.clouds._clients import reset_clients
from shared.config import ENV_ENDPOINT, ENV_POLICY, ENV_STATE, Credentials, reset_settings
from shared.runtime import FCCredentials, FCFunction, FCService, make_local_context
from shared.wiring import reset_wiring

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yml"
SCENES = ("demo",)


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a ROS/Funcraft template; short-form tags (`!Ref X`, `!GetAtt A.B`, `!Sub …`) become the JSON forms."""

    class _Loader(yaml.SafeLoader):
        pass

    def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if suffix == "Ref":
            return {"Ref": value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    _Loader.add_multi_constructor("!", _tag)
    doc = yaml.load(Path(path).read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a template mapping")
    return doc


def demo_policy() -> str:
    """The sample world's copy and ACR rules in one policy file (the ``demo`` scene)."""
    return sample_world.POLICY_YAML + sample_world.ACR_POLICY_YAML


class LocalCloud:
    """The emulator + FC functions + event router (see the module docstring)."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        speed: float = 0.0,
        scene: str | None = None,
        policy: str | os.PathLike[str] | None = None,
        state: str | None = None,
        template: str | os.PathLike[str] | None = None,
        duplicates: int = 0,
        package: str | os.PathLike[str] | None = None,
        parameters: dict[str, str] | None = None,
    ) -> None:
        if scene is not None and scene not in SCENES:
            raise ValueError(f"unknown scene {scene!r}; known: {', '.join(SCENES)}")
        self.emulator = Emulator(port=port, host=host, speed=speed)
        self.scene = scene
        self.duplicates = duplicates
        self.template_path = Path(template) if template is not None else TEMPLATE
        self._tmp = tempfile.TemporaryDirectory(prefix="image-relay-local-")
        if policy is None and scene == "demo":
            policy = Path(self._tmp.name) / "policy.yml"
            Path(policy).write_text(demo_policy())
        self.policy = str(policy) if policy is not None else None
        self.state_url = state or f"sqlite:///{Path(self._tmp.name) / 'ledger.db'}"
        self.router: EventRouter | None = None
        # With a code package, the template is deployed from it (scripts/local_deploy.py) and every function
        # runs in its own python3.10 from the unpacked zip; the policy and state are then the package's and
        # the template's (policy.yml inside the zip, the ledger in the emulated state bucket).
        self.package = Path(package) if package is not None else None
        self.parameters = dict(parameters or {})
        self.deployment: Deployment | None = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_clock: Callable[[], Any] | None = None
        self._stop = threading.Event()

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> LocalCloud:
        """Serve, point the handlers at the emulator, register the functions, wire the triggers, seed."""
        emu = self.emulator.start()
        env = {ENV_ENDPOINT: emu.url, ENV_STATE: self.state_url}
        if self.policy is not None:
            env[ENV_POLICY] = self.policy
        for name, value in env.items():
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        _reset_caches()
        self._follow_virtual_clock()
        # Open (create) the ledger now, so `image-relay status --state <it>` works before the first event.
        from shared.config import get_settings
        from shared.wiring import ledger_from

        ledger_from(get_settings())
        template = load_template(self.template_path) if self.template_path.is_file() else {}
        emu.control.configure(duplicates=self.duplicates)
        if self.package is not None:
            return self._deploy_package(template)
        self.register_functions(template)
        self.router = EventRouter(emu.fc, template).start()
        if self.scene == "demo":
            emu.control.seed({**sample_world.seed(), **sample_world.acr_seed()})
        return self

    def _follow_virtual_clock(self) -> None:
        import datetime as dt

        import shared.wiring as wiring

        clock = self.emulator.state.clock
        self._saved_clock = wiring.utcnow
        wiring.utcnow = lambda: dt.datetime.fromtimestamp(clock.now(), tz=dt.timezone.utc)

    def _deploy_package(self, template: dict[str, Any]) -> LocalCloud:
        """Seed the scene, then create the template's stack from the package, as ROS would (triggers wire the router)."""
        assert self.package is not None
        if self.scene == "demo":
            self.emulator.control.seed({**sample_world.seed(), **sample_world.acr_seed()})
        self.deployment = deploy_stack(
            template, self.package, endpoint=self.emulator.url,
            credentials=Credentials(access_key_id=EMULATOR_CREDENTIALS[0], access_key_secret=EMULATOR_CREDENTIALS[1]),
            parameters=self.parameters, region=sample_world.SOURCE, account_id=sample_world.ACCOUNT_ID)
        self.router = self.emulator.fc.router
        if self.router is not None:
            self.router.start()
        return self

    def register_functions(self, template: dict[str, Any]) -> None:
        """Register every FUNCTIONS entry under the template's service (timeout from the template if given)."""
        declared = read_template(template).functions
        for name, (module, timeout) in FUNCTIONS.items():
            spec = declared.get(name)
            self.emulator.fc.backend.register(
                spec.service if spec else DEFAULT_SERVICE,
                name,
                self._runner(name),
                timeout=spec.timeout if spec else timeout,
                handler=(spec.handler if spec and spec.handler else f"{module}.handler"),
                memory=spec.memory if spec else 512,
            )

    @staticmethod
    def _runner(name: str) -> Any:
        """The in-process runner of one function: FC's context dict → `shared.runtime.FCContext`."""
        handler = load_handler(name)

        def run(event: bytes, ctx: dict[str, Any]) -> Any:
            creds = ctx["credentials"]
            fn = ctx["function"]
            context = make_local_context(
                name,
                timeout=int(fn["timeout"]),
                credentials=FCCredentials(creds["access_key_id"], creds["access_key_secret"],
                                          creds.get("security_token") or ""),
                region=ctx["region"],
                account_id=ctx["account_id"],
            )
            context = dataclasses.replace(
                context,
                request_id=ctx["request_id"],
                function=FCFunction(name=fn["name"], handler=fn["handler"], memory=int(fn["memory"]),
                                    timeout=int(fn["timeout"])),
                service=FCService(name=ctx["service"]["name"], qualifier=ctx["service"].get("qualifier", "LATEST")),
            )
            return handler(event, context)

        return run

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no function invocation is queued or running."""
        return self.emulator.fc.backend.wait_idle(timeout)

    def advance_to_next_event(self, horizon: float = 3600.0) -> float:
        """Move the virtual clock to the next moment something fires (a template timer or a delayed FC
        invocation such as a wake-up, whichever comes first, at most `horizon` seconds ahead), wait for what
        fired to finish, and return the new virtual now (epoch seconds)."""
        emu = self.emulator
        now = emu.state.clock.now()
        timers = self.router.wiring.timers if self.router is not None else []
        moments = [t for timer in timers for t in timer.cron.fire_times(now, now + horizon)[:1]]
        due = emu.fc.backend.next_due()
        if due is not None:
            moments.append(max(due, now))
        target = min(moments) if moments else now + horizon
        emu.control.advance(max(0.0, target - now))
        self.wait_idle(600)
        return float(target)

    def stop(self) -> None:
        """Stop the router, let running invocations finish (briefly), stop serving, restore the environment."""
        self.emulator.fc.backend.wait_idle(5)
        self.emulator.stop()
        self.emulator.fc.backend.shutdown()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        if self._saved_clock is not None:
            import shared.wiring as wiring

            wiring.utcnow, self._saved_clock = self._saved_clock, None
        _reset_caches()
        self._tmp.cleanup()

    def run_forever(self, on_tick: Callable[[], None] | None = None) -> None:
        """Serve until SIGINT/SIGTERM, then stop cleanly; `on_tick` runs every half second (a status line)."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self._stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        try:
            while not self._stop.wait(0.5):
                if on_tick is not None:
                    on_tick()
        finally:
            self.stop()

    def summary(self) -> dict[str, Any]:
        """The URL, the registered functions and the wired triggers (what `local up` prints)."""
        wired = self.router.describe() if self.router is not None else {}
        return {
            "url": self.emulator.url,
            "functions": sorted(f"{svc}/{fn}" for svc, fn in self.emulator.fc.backend.functions),
            "timers": [f"{t['name']} ({t['cron']}) -> {t['function']}" for t in wired.get("timers", [])],
            "event_rules": [f"{r['name']} {json.dumps(r['pattern'])} -> {r['function']}" for r in wired.get("rules", [])],
            "ignored": wired.get("ignored", []),
            "template": str(self.template_path) if self.template_path.is_file() else None,
            **(self._package_summary() if self.deployment is not None else {"policy": self.policy,
                                                                             "state": self.state_url}),
        }

    def _package_summary(self) -> dict[str, Any]:
        """Where a package deployment keeps its code, policy and ledger (the template's own values)."""
        assert self.deployment is not None and self.package is not None
        params = self.deployment.parameters
        return {
            "package": str(self.package),
            "code": f"oss://{params['CodeBucket']}/{params['CodeObject']}",
            "policy": f"{params['PolicyFile']} (inside the package)",
            "state": f"oss://{params['StateBucketName']}/{params['LedgerPrefix']}?region={sample_world.SOURCE}",
            "skipped": self.deployment.skipped,
        }

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _reset_caches() -> None:
    """Forget cached settings, policies, stores and SDK clients (the environment changed)."""
    reset_settings()
    reset_wiring()
    reset_clients()
