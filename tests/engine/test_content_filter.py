"""-ContentFilter: Exchange's OPATH filter text into a small AST, and its evaluation, on
literal inputs (engine/content_filter.py); -IncludeFolders' matching (engine/excludes.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.content_filter import And, Comparison, Not, Or, matches, parse_content_filter
from engine.errors import ValidationError
from engine.excludes import ExcludeCandidate, keep_included, parse_exclude_folders


def day(year: int, month: int, dd: int, hour: int = 0) -> datetime:
    return datetime(year, month, dd, hour, tzinfo=UTC)


@pytest.mark.parametrize(("text", "tree"), [
    ("Received -gt '8/23/2020'", Comparison("Received", "gt", day(2020, 8, 23))),
    ("Received -le '2019/01/01'", Comparison("Received", "le", day(2019, 1, 1))),
    ('received -GE "2020-01-01 08:30"', Comparison("Received", "ge", day(2020, 1, 1, 8)
                                                   .replace(minute=30))),
    ("Received -gt '8/23/2015' -and Received -lt '8/23/2020'",
     And(Comparison("Received", "gt", day(2015, 8, 23)),
         Comparison("Received", "lt", day(2020, 8, 23)))),
    ("Received -lt '1/1/2010' -or Received -gt '1/1/2020' -and Received -lt '1/1/2021'",
     Or(Comparison("Received", "lt", day(2010, 1, 1)),
        And(Comparison("Received", "gt", day(2020, 1, 1)),
            Comparison("Received", "lt", day(2021, 1, 1))))),
    ("-not (Received -lt '2020-01-01Z')", Not(Comparison("Received", "lt", day(2020, 1, 1)))),
])
def test_exchanges_filter_text_parses_into_a_tree(text: str, tree: object) -> None:
    assert parse_content_filter(text) == tree


@pytest.mark.parametrize(("text", "received", "wanted"), [
    ("Received -gt '8/23/2020'", day(2020, 8, 23, 10), True),  # after midnight of 8/23
    ("Received -gt '8/23/2020'", day(2020, 8, 22, 23), False),
    ("Received -le '2019/01/01'", day(2019, 1, 1), True),
    ("Received -le '2019/01/01'", day(2019, 1, 1, 1), False),
    ("Received -gt '8/23/2015' -and Received -lt '8/23/2020'", day(2018, 1, 1), True),
    ("Received -gt '8/23/2015' -and Received -lt '8/23/2020'", day(2021, 1, 1), False),
    ("Received -lt '1/1/2010' -or Received -ge '1/1/2020'", day(2009, 5, 5), True),
    ("Received -lt '1/1/2010' -or Received -ge '1/1/2020'", day(2015, 5, 5), False),
    ("-not (Received -lt '2020-01-01')", day(2020, 6, 1), True),
    ("Received -eq '2020-01-01 00:00'", day(2020, 1, 1), True),
    ("Received -ne '2020-01-01 00:00'", day(2020, 1, 1), False),
])
def test_a_message_matches_by_its_received_date(text: str, received: datetime,
                                                 wanted: bool) -> None:
    assert matches(parse_content_filter(text), received) is wanted


def test_a_message_without_a_received_date_is_migrated() -> None:
    assert matches(parse_content_filter("Received -gt '2020-01-01'"), None)


def test_a_naive_received_date_counts_as_utc() -> None:
    node = parse_content_filter("Received -gt '2020-01-01 12:00'")
    assert matches(node, datetime(2020, 1, 1, 13, 0))
    assert not matches(node, datetime(2020, 1, 1, 11, 0))


@pytest.mark.parametrize(("text", "words"), [
    ("Subject -like '*invoice*'", 'The property "Subject" can\'t be used in -ContentFilter'),
    ("Sender -eq 'a@b.c'", "filters messages by Received only"),
    ("Received -gt", "it ends too early"),
    ("Received -after '2020-01-01'", "'-after' isn't a comparison operator"),
    ("Received -gt 'last year'", "'last year' isn't a date"),
    ("(Received -gt '2020-01-01'", "a ')' is missing"),
    ("Received -gt '2020-01-01' Received", "unexpected 'Received'"),
])
def test_what_imap_cannot_filter_is_refused_clearly(text: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_content_filter(text)
    assert words in caught.value.message


FOLDERS = [ExcludeCandidate(("INBOX",)), ExcludeCandidate(("Archive",)),
           ExcludeCandidate(("Archive", "2019")), ExcludeCandidate(("Projects",)),
           ExcludeCandidate(("Sent Items",), frozenset({"\\Sent"}))]


@pytest.mark.parametrize(("include", "kept"), [
    ((), ["INBOX", "Archive", "Archive/2019", "Projects", "Sent Items"]),
    (("Archive",), ["Archive"]),
    (("archive/*",), ["Archive", "Archive/2019"]),
    (("#Inbox#", "#SentItems#"), ["INBOX", "Sent Items"]),
    (("Archive/2019", "Projects"), ["Archive/2019", "Projects"]),
])
def test_include_folders_keeps_only_what_it_names(include: tuple[str, ...],
                                                  kept: list[str]) -> None:
    found = keep_included(FOLDERS, parse_exclude_folders(include))
    assert ["/".join(f.path) for f in found] == kept
