"""UID sets as ranges, split under the command length (engine/imap/uidsets.py), and FETCH
answers read by UID (engine/imap/commands.py), with literal inputs."""

from __future__ import annotations

from datetime import datetime

from engine.imap.commands import parse_fetch
from engine.imap.uidsets import MAX_SET_CHARS, split_evenly, uid_ranges, uid_set, uid_sets


def test_ranges_compress_runs_and_drop_duplicates() -> None:
    assert uid_ranges([9, 1, 2, 3, 5, 3, 10, 11, 12, 7]) == [(1, 3), (5, 5), (7, 7), (9, 12)]
    assert uid_set([1, 2, 3, 4, 5, 7, 9, 10, 11, 12]) == "1:5,7,9:12"
    assert uid_set([]) == "" and list(uid_sets([])) == []


def test_a_dense_folder_of_any_size_is_one_short_set() -> None:
    assert list(uid_sets(range(1, 200_001))) == ["1:200000"]


def test_a_sparse_set_is_split_under_the_limit_and_covers_every_uid() -> None:
    uids = list(range(1, 60_000, 2))  # 30,000 isolated UIDs: about 170 KB comma-joined
    sets = list(uid_sets(uids))
    assert len(sets) > 1
    assert all(len(s) <= MAX_SET_CHARS for s in sets)
    back = [int(u) for s in sets for u in s.split(",")]
    assert back == uids


def test_small_limit_keeps_each_range_whole() -> None:
    assert list(uid_sets([1, 2, 3, 10, 20, 21], max_chars=6)) == ["1:3,10", "20:21"]
    assert list(uid_sets([100000, 100001], max_chars=3)) == ["100000:100001"]


def test_split_evenly_orders_and_windows() -> None:
    assert list(split_evenly([5, 1, 4, 2, 3], 2)) == [[1, 2], [3, 4], [5]]


def test_fetch_answers_are_keyed_by_uid_and_unsolicited_ones_ignored() -> None:
    data = [  # as imaplib hands them over: "* 1 FETCH (...)" becomes b"1 (...)"
        b'1 (UID 10 RFC822.SIZE 120 INTERNALDATE "06-May-2024 07:08:09 +0000" FLAGS ())',
        b"2 (FLAGS (\\Seen))",  # unsolicited: another session set \Seen on message 2
        (b"3 (UID 12 BODY[] {5}", b"hello"), b")",
        b"3 (UID 12 FLAGS (\\Flagged))",
    ]
    rows = parse_fetch(data)
    assert [uid for uid, _ in rows] == [10, 12, 12]
    first = rows[0][1]
    assert first[b"RFC822.SIZE"] == 120 and isinstance(first[b"INTERNALDATE"], datetime)
    assert rows[1][1][b"BODY[]"] == b"hello"
    assert parse_fetch([None]) == []
