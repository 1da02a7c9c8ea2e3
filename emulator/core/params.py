"""Typed reading of RPC parameters (query string merged with a form body), and the paging every listing shares.

The SDK flattens lists to ``X.1=..&X.2=..``, tag structs to ``Tag.1.Key=..&Tag.1.Value=..`` and booleans to
``True``/``False`` (alibaba-api.md §1, §7.2), so every reader here undoes one of those encodings. Paging:
``Params.page`` reads PageNumber/PageSize; ``Params.token_offset`` and ``token_page`` read and answer a
MaxResults/NextToken page whose token is the decimal offset of the next page (each service passes its own
invalid-token error, so core names no service).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from emulator.core.errors import InvalidParameterError, MissingParameterError, PagingParameterError

# Protocol parameters of the v1 signer; never business input, never logged, never part of a fingerprint.
T = TypeVar("T")

PROTOCOL_PARAMS: frozenset[str] = frozenset(
    {
        "Action", "Version", "Format", "Timestamp", "SignatureNonce", "SignatureMethod",
        "SignatureVersion", "SignatureType", "AccessKeyId", "Signature", "SecurityToken",
    }
)


class Params:
    """Read-only view over the request parameters with typed accessors that raise wire errors."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = dict(raw)

    def business(self) -> dict[str, str]:
        """Return the parameters without the protocol/signing ones (what the request log records)."""
        return {k: v for k, v in self.raw.items() if k not in PROTOCOL_PARAMS}

    def get_str(self, name: str, default: str | None = None) -> str | None:
        """Return a string parameter; an empty value counts as absent."""
        value = self.raw.get(name)
        return value if value not in (None, "") else default

    def required(self, name: str) -> str:
        """Return a string parameter or raise ``MissingParameter``."""
        value = self.get_str(name)
        if value is None:
            raise MissingParameterError(name)
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        """Parse ``True``/``False`` case-insensitively (the SDK sends ``str(True)``)."""
        value = self.get_str(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise InvalidParameterError(name, "must be true or false")
        return lowered == "true"

    def get_int(self, name: str, default: int) -> int:
        """Parse an integer parameter."""
        value = self.get_str(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise InvalidParameterError(name, "must be an integer") from None

    def page_size(self, name: str, default: int, maximum: int) -> int:
        """A page size (``PageSize``, ``MaxResults``) of 1 to ``maximum``, else 400 ``InvalidParameter.<name>``."""
        size = self.get_int(name, default)
        if not 1 <= size <= maximum:
            raise PagingParameterError(name, f"must be between 1 and {maximum}")
        return size

    def page(self, maximum: int, default_size: int = 10) -> tuple[int, int]:
        """(``PageNumber`` ≥ 1, ``PageSize`` 1 to ``maximum``) of a PageNumber/PageSize listing."""
        number = self.get_int("PageNumber", 1)
        if number < 1:
            raise PagingParameterError("PageNumber", "must be at least 1")
        return number, self.page_size("PageSize", default_size, maximum)

    def token_offset(self, invalid: Callable[[], Exception]) -> int:
        """The offset a ``NextToken`` of ``token_page`` stands for (0 when absent); a token this emulator did not
        hand out raises ``invalid()`` (the service's own error)."""
        token = self.get_str("NextToken")
        if token is not None and not token.isdigit():
            raise invalid()
        return int(token or 0)

    def indexed(self, prefix: str) -> list[str]:
        """Return ``Prefix.1``, ``Prefix.2``… values in index order."""
        pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)$")
        found = [(int(m.group(1)), v) for k, v in self.raw.items() if (m := pattern.match(k))]
        return [v for _, v in sorted(found)]

    def tags(self, prefix: str = "Tag") -> list[tuple[str, str | None]]:
        """Return ``Tag.N.Key``/``Tag.N.Value`` pairs in index order; a missing value is ``None``."""
        pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.(Key|Value)$")
        slots: dict[int, dict[str, str]] = {}
        for key, value in self.raw.items():
            if m := pattern.match(key):
                slots.setdefault(int(m.group(1)), {})[m.group(2)] = value
        return [(s.get("Key", ""), s.get("Value")) for _, s in sorted(slots.items())]

    def json_list(self, name: str) -> list[str] | None:
        """Parse a JSON-array-of-strings parameter such as DescribeInstances ``InstanceIds``."""
        value = self.get_str(name)
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            raise InvalidParameterError(name, "must be a JSON array of strings") from None
        if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
            raise InvalidParameterError(name, "must be a JSON array of strings")
        return parsed

    def csv(self, name: str) -> list[str] | None:
        """Split a comma-separated parameter, dropping blanks."""
        value = self.get_str(name)
        if value is None:
            return None
        return [part.strip() for part in value.split(",") if part.strip()]


def token_page(items: Sequence[T], start: int, size: int) -> tuple[Sequence[T], dict[str, Any]]:
    """``items[start:start + size]`` and the paging keys of a MaxResults/NextToken answer (ECS DescribeInstances,
    DescribeSnapshots): ``NextToken`` is the decimal offset of the next page, "" on the last; ``PageNumber`` is 1.

    >>> token_page("abcde", 2, 2)
    ('cd', {'NextToken': '4', 'TotalCount': 5, 'PageNumber': 1, 'PageSize': 2})
    """
    more = start + size < len(items)
    return items[start : start + size], {"NextToken": str(start + size) if more else "", "TotalCount": len(items),
                                         "PageNumber": 1, "PageSize": size}
