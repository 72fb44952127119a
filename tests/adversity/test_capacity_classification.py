"""Pure decisions behind "capacity refusals are not verdicts" (literal inputs, no server):
how a refused append is classified, and how a pass that met refusals ends."""

from __future__ import annotations

import pytest
from exchangelib import errors as ewserr

from engine.errors import CapacityError, TransientError
from engine.imap.connection import server_error
from engine.sync.apply import ItemLimits
from engine.targets.base import Rejected, capacity_refusal
from engine.targets.ews import rejected
from engine.targets.ews_items import state_change

INBOX = ("INBOX",)


def test_a_capacity_refusal_is_never_permanent() -> None:
    with pytest.raises(ValueError):
        Rejected(INBOX, "full", permanent=True, capacity=True)
    refusal = capacity_refusal(INBOX, "full")
    assert refusal.capacity and not refusal.permanent


def test_overquota_outside_an_append_is_a_transient_capacity_error() -> None:
    error = server_error("mail.example.org", "create the folder 'A'",
                         "NO [OVERQUOTA] Quota exceeded (mailbox for user is full)")
    assert isinstance(error, CapacityError) and isinstance(error, TransientError)
    assert "mailbox is full" in error.message


@pytest.mark.parametrize(("error", "capacity", "permanent"), [
    (ewserr.ErrorQuotaExceeded("full"), True, False),
    (ewserr.ErrorServerBusy("busy"), True, False),
    (ewserr.ErrorInternalServerTransientError("later"), False, False),
    (ewserr.ErrorItemSave("bad"), False, True),
    (ewserr.ErrorMessageSizeExceeded("big"), False, True),
])
def test_ews_item_errors(error: Exception, capacity: bool, permanent: bool) -> None:
    result = rejected(INBOX, error)
    assert (result.capacity, result.permanent) == (capacity, permanent)


def test_a_pass_with_a_capacity_refusal_ends_with_a_capacity_error() -> None:
    limits = ItemLimits(None, None)
    assert limits.retry_error() is None
    limits.refuse([Rejected(INBOX, "The server refused the message: [LIMIT]", permanent=False)])
    assert not limits.full
    assert type(limits.retry_error()) is TransientError
    limits.refuse([capacity_refusal(INBOX, "This mailbox is full."),
                   capacity_refusal(INBOX, "This mailbox is full.")])
    error = limits.retry_error()
    assert limits.full and isinstance(error, CapacityError)
    assert error.message.startswith("This mailbox is full. 3 item(s) were not copied yet")


def test_ews_flag_delta_touches_only_what_changed() -> None:
    change = state_change(["\\Seen"], [])
    assert change.fields == {"is_read": True}
    assert change.with_categories(["Red"]) == {"is_read": True}  # categories untouched
    change = state_change(["Blue", "$Junk"], ["Green"])
    assert change.fields == {} and change.dropped_keywords == ("$Junk",)
    assert change.with_categories(["Red", "green"]) == {"categories": ["Red", "Blue"]}
    change = state_change([], ["\\Flagged", "\\Answered"])
    assert change.fields == {"imsh_flag_status": None, "imsh_last_verb": None,
                             "imsh_icon_index": None}
