"""Who may write a Maildir endpoint's tree (engine/maildir_sharing.py): literal inputs."""

from __future__ import annotations

from engine.maildir_sharing import (
    SHARED_STORAGE,
    WRITER_HOST,
    claim_refusal,
    start_refusal,
)


def test_an_unbound_or_own_or_shared_maildir_may_be_claimed() -> None:
    assert claim_refusal("M", "/srv/m", {}, "a") is None
    assert claim_refusal("M", "/srv/m", {WRITER_HOST: "a"}, "a") is None
    assert claim_refusal("M", "/srv/m", {WRITER_HOST: "a", SHARED_STORAGE: True}, "b") is None


def test_a_maildir_bound_to_another_host_is_left_to_it_and_says_how_to_share_it() -> None:
    why = claim_refusal("M", "/srv/m", {WRITER_HOST: "a"}, "b")
    assert why is not None
    assert "'a'" in why and "'b'" in why
    assert "Set-MigrationEndpoint -Identity M -SharedStorage" in why


def test_start_is_refused_only_when_more_than_one_host_would_write() -> None:
    assert start_refusal("M", "/srv/m", {}, set()) is None
    assert start_refusal("M", "/srv/m", {}, {"a"}) is None
    assert start_refusal("M", "/srv/m", {WRITER_HOST: "a"}, {"a"}) is None
    assert start_refusal("M", "/srv/m", {SHARED_STORAGE: True}, {"a", "b"}) is None
    two = start_refusal("M", "/srv/m", {}, {"b", "a"})
    assert two is not None and "(a, b)" in two and "-SharedStorage" in two
    moved = start_refusal("M", "/srv/m", {WRITER_HOST: "a"}, {"b"})  # its writer is elsewhere
    assert moved is not None and "(a, b)" in moved
