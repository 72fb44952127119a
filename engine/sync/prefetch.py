"""Reading the next copy batch from the source while the current one is appended.

A folder's copy alternates two waits: the source serving a batch of bodies (``FETCH``) and the
target storing the batch before it (``APPEND``). :class:`ReadAhead` overlaps them: while the
caller intends, appends and records batch *n*, one reader thread fetches batch *n + 1* on the
folder worker's own source session. A py-spy of a 20,000-message copy had the runner waiting
on the target's MULTIAPPEND for 28 % of the time and on the source's FETCH for 10 %: the
second wait now falls inside the first.

Why this is safe (engine/sync/apply.py keeps the crash-safety invariants; this only changes
*when* bytes are read):

- **One user of the session at a time.** While a ReadAhead is open the caller does not touch
  the source session; the reader runs one read at a time and the caller waits for it before
  the next is started. On leaving (at the end, on an error, or when the caller stops early:
  cancel, a full target) a read not yet started is cancelled and a running one waited for, so
  the session is idle again before the caller goes on. Every read has the session's deadlines
  (engine/imap/deadline.py), and a cancelled pass cuts the connection, so that wait ends.
- **Nothing read ahead is recorded.** A batch read ahead is bytes in memory; intent rows are
  written by the caller only when it takes the batch. A crash, a stop or a full target while a
  batch waits loses that read and nothing else; its messages are planned again next pass.
- **Errors where they would have been.** A failed read is raised to the caller when it takes
  that batch, as if it had been read then. The error of a read the caller no longer wanted
  (it left early) is dropped: the next use of the session meets a broken connection anyway.
- **Memory**: at most two batches of bodies (the one being appended and the one read ahead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Generic, TypeVar

Key = TypeVar("Key")
Item = TypeVar("Item")


class ReadAhead(Generic[Key, Item]):
    """``for key, item in ReadAhead(keys, read)`` yields ``(key, read(key))`` in order, reading
    the next key's item in the background while the caller works on the current one.

    Use it as a context manager, so that leaving the loop early waits for the reader.
    ``discard`` is called with an item read ahead but never taken (the caller left early).
    ``ahead=False`` reads each item when it is taken (the lanes of engine/sync/lanes.py
    overlap reading and appending among themselves; a read-ahead there only costs memory).
    """

    def __init__(self, keys: Iterable[Key], read: Callable[[Key], Item],
                 name: str = "imsh-read-ahead", *, ahead: bool = True,
                 discard: Callable[[Item], None] | None = None) -> None:
        self._keys = iter(keys)
        self._ahead = ahead
        self._discard = discard
        self._read = read
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._next: tuple[Key, Future[Item] | None] | None = None  # None: read when taken

    def __enter__(self) -> ReadAhead[Key, Item]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Cancel a read not yet started, wait for a running one; drop what it read."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._next is not None:
            _key, future = self._next
            self._next = None
            read = (future is not None and not future.cancelled()
                    and future.exception() is None)  # an unwanted read's error is dropped
            if read and future is not None and self._discard is not None:
                self._discard(future.result())  # read but never taken: e.g. its budget back

    def __iter__(self) -> Iterator[tuple[Key, Item]]:
        first = _first(self._keys)
        if not first:
            return
        [key] = first
        current: Item | None = self._read(key)  # the first read: nothing to overlap it with
        while True:
            for following in _first(self._keys):
                self._next = (following, self._submit(following) if self._ahead else None)
            yield key, current  # type: ignore[misc]  # an Item: set just before
            current = None  # the caller is done with it: not held while the next is read
            if self._next is None:
                return
            key, future = self._next
            self._next = None
            current = self._read(key) if future is None else future.result()
            del future  # a done future holds its result: no second reference to the item

    def _submit(self, key: Key) -> Future[Item]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        return self._pool.submit(self._read, key)


def _first(keys: Iterator[Key]) -> list[Key]:
    """The next key, as a list of one; ``[]`` at the end."""
    for key in keys:
        return [key]
    return []
