"""The benchmark's two throwaway Dovecots: source A holding the corpus, empty target B.

Both run as the baseline's (reference/bench-baseline.md): Maildir ``LAYOUT=fs``, separator
``/``, ``mail_fsync = optimized`` (Dovecot's default), plaintext LOGIN on 127.0.0.1. Each
scenario (scripts/bench/scenarios.py) starts its own pair with one user per source mailbox it
needs, fills A by writing Maildir files (scripts/bench/fill.py), and stops them when done.
The baseline's seeds are kept (2,000 messages: seed 42, 10,000: seed 43), so figures stay
comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scripts.bench.fill import Plan, fill
from tests.support.servers import ImapServer, start_dovecot

BASELINE_SEEDS = {2000: 42, 10000: 43}
FSYNC = "optimized"


@dataclass(frozen=True)
class Mailbox:
    """One source mailbox of the benchmark (same user name on A and on B)."""

    user: str
    count: int
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

    def empty_target(self, mailboxes: Sequence[Mailbox]) -> None:
        """Remove the users' mail on B (no session may be open)."""
        for mailbox in mailboxes:
            self.target.wipe_user(mailbox.user)

    def stop(self) -> None:
        self.source.stop()
        self.target.stop()


def seed_for(count: int, position: int) -> int:
    return BASELINE_SEEDS.get(count, 40 + position)


def start(plans: Sequence[Plan], report: bool = True) -> BenchServers:
    """Start A and B (users user1..N) and fill A's mailboxes as ``plans`` say."""
    source = start_dovecot(nusers=len(plans), fsync=FSYNC)
    try:
        target = start_dovecot(nusers=len(plans), fsync=FSYNC)
    except BaseException:
        source.stop()
        raise
    mailboxes = []
    try:
        for plan in plans:
            filled = fill(source, plan)
            mailboxes.append(Mailbox(plan.user, filled.count, filled.bytes, filled.seconds))
    except BaseException:
        source.stop()
        target.stop()
        raise
    if report:
        total = sum(m.bytes for m in mailboxes) / 1e6
        print(f"source: {len(mailboxes)} mailbox(es), {sum(m.count for m in mailboxes):,} "
              f"messages, {total:.1f} MB, written in "
              f"{sum(m.load_seconds for m in mailboxes):.1f} s", flush=True)
    return BenchServers(source, target, mailboxes)
