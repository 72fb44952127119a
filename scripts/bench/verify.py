"""The comparer's verdict on a finished run: mailboxes ``userN`` of A against the same of B.

The verdict is ``IDENTICAL`` (every mailbox) or the kinds of difference counted, summed over
the mailboxes. For mbsync, which writes an
``X-TUID:`` header into every message it copies, every body differs; its verdict is given twice:
as the comparer sees the mailboxes, and once more with that one header removed from B's
messages, which shows what else was lost (keywords).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from scripts.bench.servers import BenchServers, Mailbox
from scripts.compare import ImapSource, ImapSpec, Report, compare

_TUID = re.compile(rb"^X-TUID: [^\r\n]*\r\n", re.M | re.I)


class TuidStrippedSource(ImapSource):
    """B as the comparer reads it, minus the ``X-TUID`` header line in each message's head."""

    def transform(self, raw: bytes) -> bytes:
        return strip_tuid(raw)


def strip_tuid(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    head, body = (raw[: end + 2], raw[end + 2:]) if end >= 0 else (raw, b"")
    return _TUID.sub(b"", head, count=1) + body


def verdict(servers: BenchServers, mailboxes: Sequence[Mailbox], adds_tuid: bool) -> str:
    plain = summarize([_compare(servers, m, ImapSource) for m in mailboxes])
    if not adds_tuid:
        return plain
    stripped = summarize([_compare(servers, m, TuidStrippedSource) for m in mailboxes])
    return f"{plain}; without X-TUID: {stripped}"


def _compare(servers: BenchServers, mailbox: Mailbox, target_kind: type[ImapSource]) -> Report:
    source = ImapSource(_spec(servers.source.host, servers.source.port, mailbox.user,
                              servers.source.password))
    try:
        target = target_kind(_spec(servers.target.host, servers.target.port, mailbox.user,
                                   servers.target.password))
        try:
            return compare(source, target)
        finally:
            target.close()
    finally:
        source.close()


def _spec(host: str, port: int, user: str, password: str) -> ImapSpec:
    return ImapSpec(host, port, user, password)


def summarize(reports: Sequence[Report]) -> str:
    """``IDENTICAL``, or e.g. ``DIFFERENT: 2000 altered, 249 keywords``."""
    if all(report.identical for report in reports):
        return "IDENTICAL"
    counts: Counter[str] = Counter()
    for report in reports:
        counts.update(_differences(report))
    return "DIFFERENT: " + ", ".join(f"{n} {what}" for what, n in counts.items() if n)


def _differences(report: Report) -> dict[str, int]:
    return {
        "folders missing": len(report.folders_missing),
        "folders extra": len(report.folders_extra),
        "missing": sum(len(f.missing) for f in report.folders),
        "extra": sum(len(f.extra) for f in report.folders),
        "altered": sum(len(f.altered) for f in report.folders),  # changed content, same Message-ID
        "duplicated": sum(len(f.duplicated) for f in report.folders),
        "flags": sum(len(f.flags) for f in report.folders),
        "keywords": sum(len(f.keywords) for f in report.folders),
        "dates": sum(len(f.dates) for f in report.folders),
    }
