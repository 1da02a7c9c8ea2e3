"""Whose event is this? Events from accounts other than the function's own are refused (invariant 8).

Why: an EventBridge bus can carry other accounts' events (a cross-account rule, a misrouted bus), and
an ActionTrail ``CreateImage`` or an ACR push from another account must never make this function
describe, write or copy anything (issue #10, defect 11). The check runs right after parsing, before
any adapter exists, so a refusal makes no API call and no ledger write.

Where the own account comes from: FC's ``context.account_id``; for runs without FC (the CLI) the
``IMAGE_RELAY_ACCOUNT_ID`` setting, which wins when set (a person names the account they operate).
When neither is known, every event that names an account is refused: unknown never reads as "ours".

Masked ids: published samples (and the emulator's ACR push events) mask the last digits of
``aliyunaccountid`` (``123456789012****``). UNCONFIRMED whether real deliveries ever do. A masked id is
accepted when it has the own id's length, at most 4 trailing ``*`` and every visible digit equal.

Partner accounts (cross-account distribution, issue #13) are the only exception, and only for what their
rules allow: ``partner_accounts`` is the hook; it returns none until the policy can name partners.
"""
from __future__ import annotations

from typing import Any, Literal

from shared.errors import EventValidationError
from shared.logs import get_logger

log = get_logger(__name__)

EventKind = Literal["image_created", "acr_push"]
MAX_MASKED_DIGITS = 4


class ForeignAccountError(EventValidationError):
    """An event from an account that is not the function's own (nor an allowed partner's): refused."""


def own_account(context: Any, settings: Any | None = None) -> str | None:
    """The function's own account id: the setting when set, else the FC context's ``account_id``."""
    if settings is None:
        from shared.config import get_settings

        settings = get_settings()
    configured = getattr(settings, "account_id", None)
    if configured:
        return str(configured)
    from_context = getattr(context, "account_id", None)
    return str(from_context) if from_context else None


def partner_accounts(policy: Any, kind: EventKind) -> frozenset[str]:
    """Accounts whose events of ``kind`` this deployment accepts besides its own.

    The hook for cross-account distribution (issue #13): none yet. When partners come, return only the
    accounts whose rules allow events of ``kind``, and let the use case limit itself to those rules.
    """
    return frozenset()


def same_account(event_account: str, own: str) -> bool:
    """True when ``event_account`` is ``own``, or ``own`` with at most its last 4 digits masked.

    Examples
    --------
    >>> same_account("1234567890123456", "1234567890123456"), same_account("123456789012****", "1234567890123456")
    (True, True)
    >>> same_account("****************", "1234567890123456"), same_account("9999888877776666", "1234567890123456")
    (False, False)
    """
    if event_account == own:
        return True
    visible = event_account.rstrip("*")
    masked = len(event_account) - len(visible)
    return (len(event_account) == len(own) and 0 < masked <= MAX_MASKED_DIGITS
            and "*" not in visible and own.startswith(visible))


def require_own_account(event_account: str | None, context: Any, *, kind: EventKind, policy: Any = None,
                        settings: Any | None = None) -> None:
    """Refuse (``ForeignAccountError``, logged) a CloudEvent that is not from the own account or a partner.

    Call it for CloudEvents only (a person's request has no envelope); an event without
    ``aliyunaccountid`` (None) is refused too: whose it is cannot be told.
    """
    own = own_account(context, settings)
    allowed = ({own} if own else set()) | set(partner_accounts(policy, kind))
    if event_account is not None and any(same_account(event_account, account) for account in allowed):
        return
    if event_account is None:
        log.warning("event.refused_foreign_account", extra={"event_kind": kind, "event_account": None,
                                                            "own_account": own})
        raise ForeignAccountError("missing: whose event this is cannot be told, so it is refused",
                                  field="aliyunaccountid")
    log.warning("event.refused_foreign_account", extra={"event_kind": kind, "event_account": event_account,
                                                        "own_account": own})
    if own is None:
        raise ForeignAccountError("the function's own account is unknown (no context account_id; set "
                                  "IMAGE_RELAY_ACCOUNT_ID), so no event can be trusted", field="aliyunaccountid")
    raise ForeignAccountError(f"event from account {event_account[:40]!r}, not this function's account "
                              f"{own!r}: refused", field="aliyunaccountid")
