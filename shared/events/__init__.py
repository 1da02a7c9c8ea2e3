"""Trigger payloads: shapes (``models``), envelopes (``envelopes``) and parsers (``parse``); each function's
requests, events and a person's requests alike (``copy_requests``, ``exports``, ``acr``, ``accounts``)."""

from __future__ import annotations

from shared.events.models import ImageCreated, TimerTick
from shared.events.parse import parse_image_event, parse_timer_event

__all__ = ["ImageCreated", "TimerTick", "parse_image_event", "parse_timer_event"]
