"""Documented limits and their validators (engine.limits)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import ValidationError
from engine.limits import (
    DEFAULT_MAX_CONCURRENT_INCREMENTAL_SYNCS,
    DEFAULT_MAX_CONCURRENT_MIGRATIONS,
    INCREMENTAL_SYNC_INTERVAL,
    MAX_BATCH_NAME_LENGTH,
    MAX_CSV_ROWS,
    default_port,
    format_unlimited,
    parse_unlimited,
    validate_batch_name,
    validate_concurrency,
    validate_port,
    validate_report_interval,
)
from engine.model import IMAPSecurityMechanism


def test_documented_values() -> None:
    assert (MAX_CSV_ROWS, MAX_BATCH_NAME_LENGTH) == (50_000, 64)
    assert (INCREMENTAL_SYNC_INTERVAL.total_seconds(), DEFAULT_MAX_CONCURRENT_MIGRATIONS) == (
        86_400, 20
    )
    validate_concurrency(
        DEFAULT_MAX_CONCURRENT_MIGRATIONS, DEFAULT_MAX_CONCURRENT_INCREMENTAL_SYNCS
    )


@pytest.mark.parametrize(
    ("security", "port"),
    [(IMAPSecurityMechanism.Ssl, 993), (IMAPSecurityMechanism.Tls, 143),
     (IMAPSecurityMechanism.NONE, 143)],
)
def test_default_port(security: IMAPSecurityMechanism, port: int) -> None:
    assert default_port(security) == port


def test_batch_name_up_to_64_characters() -> None:
    assert validate_batch_name("IMAP batch 1") == "IMAP batch 1"
    assert validate_batch_name("x" * 64) == "x" * 64
    with pytest.raises(ValidationError) as caught:
        validate_batch_name("x" * 65)
    assert caught.value.message == (
        f'The migration batch name "{"x" * 65}" is 65 characters long. '
        "The maximum length is 64 characters."
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "The migration batch name can't be empty."),
        ("   ", "The migration batch name can't be empty."),
        ("a\tb", "The migration batch name can't contain control characters."),
    ],
)
def test_bad_batch_names(name: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_batch_name(name)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("Unlimited", None), ("unlimited", None), (None, None), ("10", 10), (0, 0), (" 5 ", 5)],
)
def test_parse_unlimited(value: str | int | None, parsed: int | None) -> None:
    assert parse_unlimited("BadItemLimit", value) == parsed


@pytest.mark.parametrize("value", ["-1", -1, "ten", "1.5", True])
def test_parse_unlimited_refuses(value: str | int) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_unlimited("LargeItemLimit", value)
    assert caught.value.message == (
        f'The value "{value}" of parameter LargeItemLimit isn\'t valid. '
        "Enter a non-negative integer or the value Unlimited."
    )


def test_format_unlimited() -> None:
    assert (format_unlimited(None), format_unlimited(3)) == ("Unlimited", "3")


@pytest.mark.parametrize("port", [0, 65536, -5])
def test_bad_ports(port: int) -> None:
    with pytest.raises(ValidationError, match="Enter a number from 1 through 65535"):
        validate_port(port)
    assert validate_port(143) == 143


@pytest.mark.parametrize(
    ("initial", "incremental", "message"),
    [
        (0, 0, 'The value "0" of parameter MaxConcurrentMigrations isn\'t valid. Enter a number '
               "from 1 through 100."),
        (101, 10, 'The value "101" of parameter MaxConcurrentMigrations isn\'t valid. Enter a '
                  "number from 1 through 100."),
        (20, 0, 'The value "0" of parameter MaxConcurrentIncrementalSyncs isn\'t valid. Enter a '
                "number from 1 through 100."),
        (10, 20, "MaxConcurrentIncrementalSyncs (20) must be less than or equal to "
                 "MaxConcurrentMigrations (10)."),
    ],
)
def test_concurrency(initial: int, incremental: int, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_concurrency(initial, incremental)
    assert caught.value.message == message


def test_report_interval() -> None:
    assert validate_report_interval(timedelta(0)) == timedelta(0)
    with pytest.raises(ValidationError, match="Enter 0 to never send reports"):
        validate_report_interval(timedelta(hours=-1))
