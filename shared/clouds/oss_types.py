"""Typed values the OSS adapter returns; no SDK import here, so any module may use them.

Why a separate module: the ledger store and the export code reason about objects (key, size,
ETag, time) without loading ``oss2``, which keeps their import cheap and their tests SDK-free.
"""
from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class ObjectInfo(BaseModel):
    """One OSS object as listed or HEAD-ed.

    ``etag`` has its quotes stripped (OSS sends ``"5EB6…"``); ``last_modified`` is aware UTC.

    Examples
    --------
    >>> ObjectInfo(key="exports/m-1.raw", size=11, etag="5EB6", last_modified=dt.datetime(2024, 1, 1)).size
    11
    """

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    key: str
    size: int
    etag: str
    last_modified: dt.datetime


def from_epoch(seconds: float | int | None) -> dt.datetime:
    """OSS times arrive as Unix seconds from oss2; turn them into aware UTC (None: the epoch)."""
    return dt.datetime.fromtimestamp(float(seconds or 0), tz=dt.timezone.utc)
