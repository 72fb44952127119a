"""The benchmark's two throwaway Dovecots: source A holding the corpus, empty target B.

Both run as the baseline's (reference/bench-baseline.md): Maildir ``LAYOUT=fs``, separator
``/``, ``mail_fsync = optimized`` (Dovecot's default), plaintext LOGIN on 127.0.0.1. Mailbox
``userN`` of A holds the seeded bench corpus of the N-th size asked for; the baseline's seeds
are kept (2,000 messages: seed 42, 10,000: seed 43), so figures stay comparable.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from scripts import corpus
from tests.support.servers import ImapServer, start_dovecot, stop_all

BASELINE_SEEDS = {2000: 42, 10000: 43}
FSYNC = "optimized"


@dataclass(frozen=True)
class Mailbox:
    """One source mailbox of the benchmark (same user name on A and on B)."""

    user: str
    count: int
    seed: int
    bytes: int
    load_seconds: float

    @property
    def megabytes(self) -> float:
        return self.bytes / 1e6


@dataclass(frozen=True)
class BenchServers:
    source: ImapServer
    target: ImapServer
    mailboxes: list[Mailbox]

    def empty_target(self, mailbox: Mailbox) -> None:
        """Remove the user's mail on B (no session may be open)."""
        self.target.wipe_user(mailbox.user)

    def stop(self) -> None:
        stop_all()


def start(counts: Sequence[int], report: bool = True) -> BenchServers:
    """Start A and B and fill one mailbox of A per size in ``counts``."""
    source = start_dovecot(nusers=len(counts), fsync=FSYNC)
    target = start_dovecot(nusers=len(counts), fsync=FSYNC)
    mailboxes = []
    for number, count in enumerate(counts, start=1):
        mailbox = _fill(source, f"user{number}", count, BASELINE_SEEDS.get(count, 40 + number))
        if report:
            print(f"source {mailbox.user}: {mailbox.count} messages, {mailbox.megabytes:.1f} MB"
                  f" (seed {mailbox.seed}) loaded in {mailbox.load_seconds:.1f} s", flush=True)
        mailboxes.append(mailbox)
    return BenchServers(source, target, mailboxes)


def _fill(server: ImapServer, user: str, count: int, seed: int) -> Mailbox:
    began = time.monotonic()
    params = corpus.ImapParams(server.host, server.port, user, server.password)
    stats = corpus.load_imap(params, corpus.generate(seed, count, profile="bench"))
    return Mailbox(user, stats.messages, seed, stats.bytes, time.monotonic() - began)
