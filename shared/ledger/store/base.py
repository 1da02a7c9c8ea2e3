"""The storage contract every ledger backend implements.

Why four primitives (Powertools ``BasePersistenceLayer``): all ledger logic (state machine,
event dedupe, timestamps) lives once in ``shared.ledger.Ledger``; a backend only has to give
create-if-absent, compare-and-set, get and prefix scan. OSS can give exactly these
(``x-oss-forbid-overwrite`` and ETag/version checks), so production and tests share one
contract suite (``tests/ledger/test_ledger_contract.py``).

Version rule shared by all backends: ``create`` stores the record with ``version=1``;
``replace`` succeeds only if the stored version equals ``expected_version`` and stores
``expected_version + 1``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from types import TracebackType

from shared.ledger.record import Record, State


class LedgerStore(abc.ABC):
    """Abstract ledger storage: ``get``, ``create``, ``replace``, ``scan``, ``close``."""

    @abc.abstractmethod
    def get(self, key: str) -> Record | None:
        """The stored record, or None."""

    @abc.abstractmethod
    def create(self, record: Record) -> bool:
        """Store ``record`` (as version 1) only if its key is absent; False if it already exists."""

    @abc.abstractmethod
    def replace(self, record: Record, expected_version: int) -> Record:
        """Compare-and-set: write ``record`` if the stored version is ``expected_version``.

        Returns the stored record (version bumped). Raises ``LedgerConflictError`` when the
        version differs or the key is absent.
        """

    @abc.abstractmethod
    def scan(self, prefix: str) -> Iterator[Record]:
        """Records whose key starts with ``prefix``, in key order."""

    def scan_keys(self, prefix: str, keep: Callable[[str], bool]) -> Iterator[Record]:
        """Records under ``prefix`` whose key ``keep`` accepts, in key order. Backends override it to decide
        on the key before reading or parsing the record (a tick for one region reads only that region's)."""
        return (r for r in self.scan(prefix) if keep(r.key))

    def scan_active(self, prefix: str, keep: Callable[[str], bool] | None = None) -> Iterator[Record]:
        """Records under ``prefix`` (whose key ``keep`` accepts) that are not finished (``Record.is_finished``),
        in key order. Backends where a read costs a request skip finished records without reading them."""
        return (r for r in self.scan_keys(prefix, keep or (lambda _key: True)) if not r.is_finished)

    def finished_states(self, prefix: str) -> dict[str, State]:
        """Key → state of every finished record under ``prefix`` (from the listing alone where possible)."""
        return {r.key: r.state for r in self.scan(prefix) if r.is_finished}

    def active_and_finished(self, prefix: str, keep: Callable[[str], bool] | None = None,
                            ) -> tuple[list[Record], dict[str, State]]:
        """`scan_active` and `finished_states` in one pass: each record is read and parsed once (two calls
        would parse every record twice)."""
        active: list[Record] = []
        finished: dict[str, State] = {}
        for record in self.scan(prefix):
            if record.is_finished:
                finished[record.key] = record.state
            elif keep is None or keep(record.key):
                active.append(record)
        return active, finished

    def close(self) -> None:  # noqa: B027 - optional hook, not every backend holds a resource
        """Release resources; the default does nothing."""

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
