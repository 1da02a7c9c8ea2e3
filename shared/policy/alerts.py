"""The alerts section of the policy (``Policy.alerts``): where outcome alerts go.

Why alerts at all: a copy that ends FAILED (quota, a missing KMS key) comes from a *successful*
invocation, so FC's on-failure destination never fires and nobody is told. Secrets never sit in
the policy file: the webhook URL (it carries the robot's access token) and its signing secret are
read from environment variables the policy names.

>>> AlertsPolicy.model_validate({"eventbridge": {"bus": "relay-alerts", "region": "cn-hangzhou"}}).configured
True
"""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.values import RegionId, matching

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}\Z")
_BUS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,126}\Z")
EnvName = Annotated[str, matching(_ENV_NAME, "not an environment variable name: {value!r}")]


class EventBridgeSink(BaseModel):
    """PutEvents to a custom event bus, so rules route alerts anywhere (SMS, mail, FC, MNS…)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    bus: Annotated[str, matching(_BUS_NAME, "not an event bus name: {value!r} (letters, digits, _ . -; at most 127)")]
    region: RegionId
    source: str = Field(default="image-relay", min_length=1, max_length=128)

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value.startswith("acs."):
            raise ValueError("a custom event source must not start with 'acs.' (reserved for Alibaba services)")
        return value


class WebhookSink(BaseModel):
    """A DingTalk- or Lark-style robot webhook, signed with HMAC-SHA256 when a secret is given."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    url_env: EnvName = "IMAGE_RELAY_WEBHOOK_URL"
    secret_env: EnvName | None = "IMAGE_RELAY_WEBHOOK_SECRET"
    style: Literal["dingtalk", "lark"] = "dingtalk"


class AlertsPolicy(BaseModel):
    """Sinks for outcome alerts (one alert per outcome) and the daily summary of failures."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)

    eventbridge: EventBridgeSink | None = None
    webhook: WebhookSink | None = None
    #: once a day, at the first tick after this UTC hour, every failure still open with its replay command
    daily_summary: bool = True
    summary_hour_utc: int = Field(default=1, ge=0, le=23)

    @property
    def configured(self) -> bool:
        """True when at least one sink is named."""
        return self.eventbridge is not None or self.webhook is not None
