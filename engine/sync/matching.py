"""Pairing things by fingerprint as multisets: k identical copies on one side pair with k on the
other, in a stable order, and the extras on either side stay unpaired.

Used for re-matching after a UIDVALIDITY change, for moves across folders and for spotting a
renamed folder. Deterministic: the same inputs always give the same pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

L = TypeVar("L")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)


def pair_multiset(
    left: Sequence[L],
    right: Sequence[R],
    left_key: Callable[[L], K],
    right_key: Callable[[R], K],
) -> tuple[list[tuple[L, R]], list[L], list[R]]:
    """Pair items with equal keys, the i-th left with the i-th right of each key (in the order
    given). Returns (pairs, unpaired left, unpaired right), each in input order."""
    waiting: dict[K, list[int]] = defaultdict(list)
    for index, candidate in enumerate(right):
        waiting[right_key(candidate)].append(index)
    pairs: list[tuple[L, R]] = []
    left_over: list[L] = []
    taken: set[int] = set()
    for item in left:
        queue = waiting.get(left_key(item))
        if queue:
            index = queue.pop(0)
            taken.add(index)
            pairs.append((item, right[index]))
        else:
            left_over.append(item)
    right_over = [candidate for index, candidate in enumerate(right) if index not in taken]
    return pairs, left_over, right_over
