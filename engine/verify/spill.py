"""One side of one folder's records, held on disk while a proof compares them: memory stays
the same whatever the folder's size.

A proof compares folders as multisets keyed by content digest (engine/verify/compare.py).
Held in memory, both sides' records (and listings) of a 100,000-message folder grew the runner
from 161 to 388 MB: the automatic proof after an initial sync runs inside the runner. So each
side's records go, as they are read, into a private temporary SQLite database
(``sqlite3.connect("")``: a file SQLite unlinks as soon as it opens it, that no other process
can open, deleted when closed), and come back grouped by digest, in digest order, so the two
sides are merged group by group. Only the groups that differ are kept.

SQLite puts that file in its temporary directory (SQLITE_TMPDIR, TMPDIR, /var/tmp, /tmp; a few
hundred bytes a record: 34.6 MB for one side of 60,000 records with 200-character labels; on a
tmpfs it counts as memory). A
SQLite fault there (a full or unwritable directory) is a :class:`TransientError` naming it,
never an internal error: the proof fails and says why, the pass it follows stays a success.

A record is stored pickled, as this process made it (nothing from elsewhere is unpickled),
with the position it was read at (``seq``): the comparison reports differences in the order
the old in-memory comparison did (first appearance on a side), not in digest order.
"""

from __future__ import annotations

import contextlib
import pickle
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from engine.errors import ErrorCategory, TransientError
from engine.verify.model import MessageRecord

CACHE_KIB = 1024  # SQLite's page cache per side (beyond it, the temporary file): 100,000 records
# cost about 6 MB a side with 1 MiB, 10 MB with 4 MiB, and take as long
INSERT_CHUNK = 2000  # records per executemany


class Spill:
    """The records of one folder of one side. Fill it in one thread, then read it (in
    another thread if need be: never both at once)."""

    def __init__(self) -> None:
        with _faults():
            self._db = sqlite3.connect("", check_same_thread=False)
            self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self._db.execute("PRAGMA temp_store = FILE")
            self._db.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, "
                             "digest TEXT NOT NULL, record BLOB NOT NULL)")
        self.count = 0
        self.bytes = 0

    def add_all(self, records: Iterable[MessageRecord]) -> None:
        """Store ``records`` (a stream: read as it is stored, never held)."""
        stream = iter(records)
        while chunk := list(islice(stream, INSERT_CHUNK)):
            rows = [(self.count + n, r.digest, pickle.dumps(r, pickle.HIGHEST_PROTOCOL))
                    for n, r in enumerate(chunk)]
            with _faults():
                self._db.executemany("INSERT INTO records VALUES (?, ?, ?)", rows)
            self.count += len(chunk)
            self.bytes += sum(r.size for r in chunk)

    def groups(self) -> Iterator[tuple[str, int, list[MessageRecord]]]:
        """``(digest, position of its first record, its records in the order read)``, one
        digest at a time, in digest order."""
        with _faults():
            self._db.execute("CREATE INDEX IF NOT EXISTS by_digest ON records (digest, seq)")
            rows = self._db.execute(
                "SELECT digest, seq, record FROM records ORDER BY digest, seq").fetchmany
        digest: str | None = None
        first = 0
        group: list[MessageRecord] = []
        for row_digest, seq, blob in _fetched(rows):
            if row_digest != digest:
                if digest is not None:
                    yield digest, first, group
                digest, first, group = row_digest, seq, []
            group.append(pickle.loads(blob))  # written by this process, above
        if digest is not None:
            yield digest, first, group

    def close(self) -> None:
        self._db.close()


def _fetched(fetchmany: Callable[[int], list[Any]]) -> Iterator[tuple[str, int, bytes]]:
    """The rows of a cursor, a few hundred at a time, SQLite faults as :func:`_faults` says."""
    while True:
        with _faults():
            rows = fetchmany(500)
        if not rows:
            return
        yield from rows


@contextlib.contextmanager
def _faults() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise TransientError(
            "The proof could not store the records it compares in a temporary file "
            f"(SQLite: {exc}); check the free space and permissions of the temporary "
            "directory (SQLITE_TMPDIR, TMPDIR, /var/tmp).",
            category=ErrorCategory.ResourceUnavailable, error_id="ProofSpillFailed") from exc
