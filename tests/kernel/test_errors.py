"""The error hierarchy: one root, retryable flags, field-first messages, to_dict."""

from __future__ import annotations

import pytest

from shared import errors as E


@pytest.mark.parametrize(
    "cls",
    [
        E.ConfigError, E.EventValidationError, E.LedgerError, E.LedgerConflictError, E.LedgerStoreError,
        E.LedgerTransitionError, E.CloudError, E.ResourceNotFoundError, E.CloudConflictError, E.ThrottledError,
        E.ServiceUnavailableError, E.CloudAuthError, E.QuotaExceededError, E.InvalidCloudRequestError,
        E.DeadlineExceededError, E.PlanLimitExceededError,
    ],
)
def test_every_error_has_one_root_and_a_docstring(cls: type[E.ImageRelayError]) -> None:
    assert issubclass(cls, E.ImageRelayError)
    assert cls.__name__.endswith("Error")
    assert cls.__doc__ and "\n" not in cls.__doc__.strip()


def test_ledger_subclasses() -> None:
    assert issubclass(E.LedgerConflictError, E.LedgerError)
    assert issubclass(E.LedgerStoreError, E.LedgerError)
    assert E.LedgerStoreError("disk full").retryable is True
    assert E.LedgerConflictError("lost").retryable is False


def test_field_error_str_starts_with_field() -> None:
    err = E.ConfigError("not a region id", field="copy_rules[0].target_regions[1]")
    assert str(err) == "copy_rules[0].target_regions[1]: not a region id"
    assert err.to_dict() == {
        "error": "ConfigError",
        "message": "not a region id",
        "retryable": False,
        "field": "copy_rules[0].target_regions[1]",
    }
    assert str(E.EventValidationError("bad")) == "bad"


def test_cloud_error_carries_wire_facts() -> None:
    err = E.ResourceNotFoundError(
        "The specified ImageId does not exist.", code="InvalidImageId.NotFound", status=404, request_id="R1"
    )
    assert isinstance(err, E.CloudError)
    assert str(err) == "InvalidImageId.NotFound: The specified ImageId does not exist."
    assert err.to_dict()["code"] == "InvalidImageId.NotFound"
    assert err.to_dict()["status"] == 404 and err.to_dict()["request_id"] == "R1"
    assert err.retryable is False


def test_cloud_error_does_not_repeat_code() -> None:
    assert str(E.ThrottledError("Throttling: slow down", code="Throttling")) == "Throttling: slow down"


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [(E.ThrottledError, True), (E.ServiceUnavailableError, True), (E.CloudAuthError, False),
     (E.QuotaExceededError, False), (E.CloudConflictError, False), (E.InvalidCloudRequestError, False)],
)
def test_cloud_retryable_defaults_and_override(cls: type[E.CloudError], retryable: bool) -> None:
    assert cls("m", code="X").retryable is retryable
    assert cls("m", code="X", retryable=not retryable).retryable is (not retryable)
    # the override is per instance, never leaks to the class
    assert cls("m", code="X").retryable is retryable
