"""Wire settings, credentials and the FC context into adapters, once per warm instance.

Caches here are the only module-level state besides the SDK client cache: the parsed policy
(keyed by path and modification time, so an edited file is re-read) and the open ledger store
(keyed by URL, so a warm instance reuses its SQLite connection).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from shared.config import Settings, get_settings, resolve_code_path
from shared.context import FeatureContext
from shared.ledger import Ledger, open_store
from shared.ledger.record import utcnow
from shared.logs import ROOT_LOGGER
from shared.policy import Policy, load_policy
from shared.runtime import Deadline

if TYPE_CHECKING:  # each feature's use cases load with its first context: a cold start pays only for its own
    from shared.acr.service import AcrContext
    from shared.builds.service import BuildsContext
    from shared.cleanup.service import CleanupContext
    from shared.exports.service import ExportContext
    from shared.replication.service import CopyContext

C = TypeVar("C", bound=FeatureContext)

_POLICIES: dict[tuple[str, float], Policy] = {}
_STORES: dict[str, Any] = {}
_LOCK = threading.Lock()


def reset_wiring() -> None:
    """Forget cached policies and close cached stores (tests call this between cases)."""
    with _LOCK:
        _POLICIES.clear()
        for store in _STORES.values():
            store.close()
        _STORES.clear()


def policy_from(settings: Settings) -> Policy:
    """The policy file named by IMAGE_RELAY_POLICY (relative: to FC_FUNC_CODE_PATH), parsed once per modification."""
    path = resolve_code_path(settings.require_policy())
    key = (path, os.stat(path).st_mtime if os.path.exists(path) else 0.0)
    with _LOCK:
        cached = _POLICIES.get(key)
    if cached is None:
        cached = load_policy(path)
        with _LOCK:
            _POLICIES[key] = cached
    return cached


def ledger_from(settings: Settings) -> Ledger:
    """The ledger at IMAGE_RELAY_STATE, one open store per URL."""
    with _LOCK:
        store = _STORES.get(settings.state)
        if store is None:
            store = _STORES[settings.state] = open_store(settings.state)
    return Ledger(store)


def _gateways(context: Any, settings: Settings, services: tuple[str, ...]) -> tuple[Deadline, dict[str, Any]]:
    """The adapters a use case needs, bounded by the function's deadline; SDKs load on first use."""
    from shared.clouds._retry import RetryPolicy
    from shared.clouds.credentials import resolve_credentials

    deadline = Deadline.from_context(context)
    credentials = resolve_credentials(context)  # FC's context first, then the official chain
    retry = RetryPolicy(base_seconds=settings.retry_base_seconds, max_attempts=settings.retry_max_attempts)
    built: dict[str, Any] = {}
    if "image_builder" in services:  # ECS plus Image Builder's reads
        from shared.clouds.ecs_pipelines import ImageBuilderGateway

        built["image_builder"] = ImageBuilderGateway.connect(credentials, endpoint=settings.endpoint, retry=retry,
                                                   deadline=deadline)
    if "ecs" in services:
        from shared.clouds.ecs import EcsGateway

        built["ecs"] = EcsGateway.connect(credentials, endpoint=settings.endpoint, retry=retry, deadline=deadline)
    if "cr" in services:
        from shared.clouds.acr import AcrGateway

        built["cr"] = AcrGateway.connect(credentials, endpoint=settings.endpoint, retry=retry, deadline=deadline)
    if "ess" in services:
        from shared.clouds.ess import EssGateway

        built["ess"] = EssGateway.connect(credentials, endpoint=settings.endpoint, retry=retry, deadline=deadline)
    if "oss" in services:
        from shared.clouds.oss import OssGateway

        built["oss"] = OssGateway.connect(credentials, endpoint=settings.endpoint, retry=retry, deadline=deadline)
    return deadline, built


def wire(cls: type[C], context: Any, settings: Settings | None = None, *, now: dt.datetime | None = None,
         **extra: Any) -> C:
    """The one wiring factory: a feature context with the policy, the ledger, a clock (`now` pins it), the
    function's deadline and the adapters its class names in ``adapters``; ``extra`` fills its own fields.

    The policy is read before any client exists, so a bad policy makes no API call.
    """
    settings = settings or get_settings()
    logging.getLogger(ROOT_LOGGER).setLevel(settings.log_level_number)
    policy = policy_from(settings)
    deadline, gw = _gateways(context, settings, tuple(cls.adapters.values()))
    clock = (lambda: now) if now is not None else utcnow
    adapters = {name: gw[kind] for name, kind in cls.adapters.items()}
    return cls(policy=policy, ledger=ledger_from(settings), now=clock, deadline=deadline, **adapters, **extra)


def export_context(context: Any, settings: Settings | None = None, *, wake: bool = False) -> ExportContext:
    """An export invocation's context; the claim owner is the invocation's request id. `wake` (the
    export_batch function) adds the FC waker when IMAGE_RELAY_WAKEUPS is on: the batch runs again at the
    expected end of its exports."""
    from shared.exports.service import ExportContext

    settings = settings or get_settings()
    return wire(ExportContext, context, settings, owner=str(getattr(context, "request_id", "")),
                waker=_waker(context, settings, default="export_batch", kind="export") if wake and settings.wakeups
                else None)


def acr_context(context: Any, settings: Settings | None = None, *, now: dt.datetime | None = None,
                wake: bool = False) -> AcrContext:
    """An ACR invocation's context (`now` pins the clock); the account it runs in guards account targets.
    `wake` (the reconcile function) adds the FC waker when IMAGE_RELAY_WAKEUPS is on: reconcile wakes itself
    at the expected end of sync tasks."""
    from shared.acr.service import AcrContext
    from shared.events.accounts import own_account

    settings = settings or get_settings()
    return wire(AcrContext, context, settings, now=now, source_account=own_account(context, settings),
                waker=_waker(context, settings, kind="acr") if wake and settings.wakeups else None)


def copy_context(context: Any, settings: Settings | None = None, *, now: dt.datetime | None = None,
                 wake: bool = False) -> CopyContext:
    """A copy invocation's context. `wake` (the reconcile function) adds the FC waker when
    IMAGE_RELAY_WAKEUPS is on: reconcile invokes itself, delayed, at each region's expected copy end
    (shared/replication/wake.py)."""
    from shared.replication.service import CopyContext

    settings = settings or get_settings()
    return wire(CopyContext, context, settings, now=now,
                waker=_waker(context, settings) if wake and settings.wakeups else None)


def cleanup_context(context: Any, settings: Settings | None = None) -> CleanupContext:
    """A cleanup run's context (ECS with Image Builder's reads, and ESS)."""
    from shared.cleanup.service import CleanupContext

    return wire(CleanupContext, context, settings)


def builds_context(context: Any, settings: Settings | None = None, *, now: dt.datetime | None = None,
                   wake: bool = False) -> BuildsContext:
    """The build part of a tick (`now` pins the clock); `wake` as for `acr_context`, at builds' expected end."""
    from shared.builds.service import BuildsContext

    settings = settings or get_settings()
    return wire(BuildsContext, context, settings, now=now,
                waker=_waker(context, settings, kind="build") if wake and settings.wakeups else None)


def _waker(context: Any, settings: Settings, *, default: str = "reconcile", kind: str = "copy") -> Any:
    """An FC waker that invokes this very function (service, name, region and account from FC's context)."""
    from shared.clouds._retry import RetryPolicy
    from shared.clouds.credentials import resolve_credentials
    from shared.clouds.fc_invoke import FcInvoker
    from shared.wakeups import FcWaker

    retry = RetryPolicy(base_seconds=settings.retry_base_seconds, max_attempts=settings.retry_max_attempts)
    fc = FcInvoker.connect(resolve_credentials(context), region=str(getattr(context, "region", "") or "cn-hangzhou"),
                           account_id=str(getattr(context, "account_id", "") or "local"), endpoint=settings.endpoint,
                           retry=retry)
    service = getattr(getattr(context, "service", None), "name", None) or "image-relay"
    function = getattr(getattr(context, "function", None), "name", None) or default
    return FcWaker(fc, service, function, kind)


def alert_outcomes(context: Any, settings: Settings | None = None, *, now: dt.datetime | None = None,
                   cleanup_report: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Send the alerts the ledger's outcomes call for (and a refused cleanup's), when a sink is configured.

    None without an `alerts:` sink. Never raises: an alert that could not go out is retried by the next
    tick, and the invocation's own result stands.
    """
    settings = settings or get_settings()
    policy = policy_from(settings)
    if policy.alerts is None or not policy.alerts.configured:
        return None  # before any import: a function without alerts never loads them
    from shared.alerts import outcomes, service
    from shared.errors import ImageRelayError

    ledger, when = ledger_from(settings), now or utcnow()
    try:
        sinks = _alert_sinks(context, settings, policy.alerts)
        result: dict[str, Any] = {}
        if cleanup_report is not None:
            if cleanup_report.get("status") == "refused" and not cleanup_report.get("dry_run"):
                result["sent"] = int(service.send_once(ledger, sinks, outcomes.cleanup_refused(cleanup_report), when))
            return result
        return service.sweep(ledger, policy.alerts, sinks, when)
    except ImageRelayError as exc:
        logging.getLogger(ROOT_LOGGER).warning("alert.sweep_failed", extra=exc.log_fields())
        return {"error": exc.to_dict()}


def _alert_sinks(context: Any, settings: Settings, alerts: Any) -> list[Any]:
    """The configured sinks; the webhook's URL and secret come from the environment variables named."""
    from shared.alerts.service import EventBridgeSinkAdapter, WebhookSinkAdapter
    from shared.errors import ConfigError

    sinks: list[Any] = []
    if alerts.eventbridge is not None:
        from shared.clouds.eventbridge import EventBridgeGateway

        deadline, _ = _gateways(context, settings, ())
        from shared.clouds.credentials import resolve_credentials

        gateway = EventBridgeGateway.connect(resolve_credentials(context), endpoint=settings.endpoint,
                                             deadline=deadline)
        sinks.append(EventBridgeSinkAdapter(gateway, alerts.eventbridge.region, alerts.eventbridge.bus,
                                            alerts.eventbridge.source))
    if alerts.webhook is not None:
        from shared.clouds.webhook import WebhookSender

        url = os.environ.get(alerts.webhook.url_env, "").strip()
        if not url:
            raise ConfigError("not set; the policy's alerts.webhook.url_env names it", field=alerts.webhook.url_env)
        secret = os.environ.get(alerts.webhook.secret_env or "", "").strip() or None
        sinks.append(WebhookSinkAdapter(WebhookSender(url, secret, alerts.webhook.style)))
    return sinks


def account_sessions(context: Any, settings: Settings | None = None) -> Any:
    """STS sessions for the partner accounts of account targets (issue #13): AssumeRole with the function's
    own credentials, one cached session per role ARN, the partner's ECS adapter built from it."""
    from shared.clouds._retry import RetryPolicy
    from shared.clouds.credentials import resolve_credentials
    from shared.clouds.sts import AccountSessions, StsGateway

    settings = settings or get_settings()
    deadline = Deadline.from_context(context)
    retry = RetryPolicy(base_seconds=settings.retry_base_seconds, max_attempts=settings.retry_max_attempts)
    sts = StsGateway.connect(resolve_credentials(context), endpoint=settings.endpoint, retry=retry, deadline=deadline)
    return AccountSessions(sts, endpoint=settings.endpoint, retry=retry, deadline=deadline)


def account_context(context: Any, settings: Settings | None = None, *, now: dt.datetime | None = None) -> Any:
    """Policy, ledger, this account's ECS and the partners' STS sessions for the account targets (issue #13).

    The source account is ``IMAGE_RELAY_ACCOUNT_ID``, else FC's ``context.account_id``; unknown, the "never
    the source account" check rests on the policy's role ARNs alone."""
    from shared.accounts.service import AccountContext

    settings = settings or get_settings()
    policy = policy_from(settings)
    deadline, gw = _gateways(context, settings, ("ecs",))
    clock = (lambda: now) if now is not None else utcnow
    from shared.events.accounts import own_account

    source = own_account(context, settings)
    return AccountContext(policy=policy, ledger=ledger_from(settings), ecs=gw["ecs"],
                          sessions=account_sessions(context, settings), now=clock,
                          source_account=source, deadline=deadline)
