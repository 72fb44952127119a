"""The referee on the command line: compare two mailboxes (IMAP or Maildir++) folder by folder.

What "identical" means is engine code now (engine/verify/, docs/proof.md), the same that
``Test-MigrationUser`` proves with: folders as logical paths, messages as a multiset per
folder keyed by the SHA-256 of their CRLF form, system flags case-insensitively (``\\Recent``
ignored), keywords exactly, INTERNALDATE as an instant with a tolerance. This module keeps the
developer's interface: SPEC strings, :class:`ImapSource`/:class:`MaildirSource`, and the exit
codes (0 identical, 1 different, 2 error).

Reading never changes a mailbox: IMAP goes through the engine's reader (EXAMINE,
``BODY.PEEK[]``), logged in as the SPEC says.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from engine.errors import ImshError
from engine.folders import FolderPath
from engine.imap.connection import ImapSession, ImapSettings, SimpleLogin, open_session
from engine.model import IMAPSecurityMechanism
from engine.sync.gmail_labels import POLICIES
from engine.verify.compare import compare, compare_folder
from engine.verify.gmail import gmail_view
from engine.verify.hashing import canonical_bytes, message_digest
from engine.verify.model import (
    FolderDiff,
    FolderInfo,
    MailboxSource,
    MessageRecord,
    Report,
)
from engine.verify.readers import ImapReader, MaildirReader

__all__ = ["CompareError", "FolderDiff", "FolderInfo", "FolderPath", "ImapSource", "ImapSpec",
           "MailboxSource", "MaildirSource", "MessageRecord", "Report", "canonical_bytes",
           "compare", "compare_folder", "main", "message_digest", "open_source", "parse_spec"]


class CompareError(Exception):
    """A mailbox could not be read (bad spec, connection or login failure, missing path)."""


@dataclass(frozen=True)
class ImapSpec:
    """How to reach an IMAP mailbox (from ``imap[s]://user:pw@host:port?...``)."""

    host: str
    port: int
    user: str
    password: str
    tls: bool = False
    starttls: bool = False
    cafile: str | None = None
    login: str | None = None  # LOGIN as this name instead (e.g. ``user1*admin``)
    authzid: str | None = None  # AUTHENTICATE PLAIN as ``user`` acting for ``authzid``

    def describe(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        who = self.authzid or self.user
        return f"{scheme}://{who}@{self.host}:{self.port}"


class ImapSource(ImapReader):
    """Reads a mailbox over IMAP without changing it (the engine's reader, logged in by SPEC)."""

    def __init__(self, spec: ImapSpec, timeout: float = 60.0) -> None:
        self.spec = spec
        super().__init__(self._connect(spec, timeout), description=spec.describe())

    @staticmethod
    def _connect(spec: ImapSpec, timeout: float) -> ImapSession:
        mechanism = IMAPSecurityMechanism
        security = (mechanism.Ssl if spec.tls else mechanism.Tls if spec.starttls
                    else mechanism.NONE)
        settings = ImapSettings(spec.host, spec.port, security, cafile=spec.cafile,
                                timeout=timeout)
        if spec.authzid:
            plan = SimpleLogin(spec.user, spec.password, spec.authzid,
                               method="authenticate-plain")
        else:
            plan = SimpleLogin(spec.login or spec.user, spec.password)
        try:
            return open_session(settings, plan)
        except ImshError as exc:
            raise CompareError(f"{spec.describe()}: cannot connect or log in: {exc}") from exc


class MaildirSource(MaildirReader):
    """Reads a Maildir++ tree (engine/verify/readers.py describes the layout assumed)."""

    def __init__(self, root: str | Path) -> None:
        try:
            super().__init__(root)
        except ImshError as exc:
            raise CompareError(str(exc)) from exc


# --- specs -------------------------------------------------------------------------------

def parse_spec(spec: str) -> ImapSpec | Path:
    """Parse ``imap[s]://user:pw@host[:port][?cafile=F&login=L&authzid=Z&starttls=1]`` or
    ``maildir:PATH``."""
    if spec.startswith("maildir:"):
        path = spec[len("maildir:"):]
        path = path[2:] if path.startswith("//") else path
        if not path:
            raise CompareError(f"{spec!r}: no Maildir path")
        return Path(path)
    url = urlsplit(spec)
    if url.scheme not in ("imap", "imaps"):
        raise CompareError(f"{spec!r}: expected imap://, imaps:// or maildir:")
    try:
        port = url.port
    except ValueError as exc:
        raise CompareError(f"{spec!r}: bad port") from exc
    if not url.hostname or url.username is None or url.password is None:
        raise CompareError(f"{spec!r}: expected imap://user:password@host:port")
    query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    unknown = set(query) - {"cafile", "login", "authzid", "starttls"}
    if unknown:
        raise CompareError(f"{spec!r}: unknown option(s) {', '.join(sorted(unknown))}")
    tls = url.scheme == "imaps"
    return ImapSpec(url.hostname, port or (993 if tls else 143), unquote(url.username),
                    unquote(url.password), tls=tls,
                    starttls=query.get("starttls", "") in ("1", "yes", "true"),
                    cafile=query.get("cafile") or None, login=query.get("login") or None,
                    authzid=query.get("authzid") or None)


def open_source(spec: str) -> MailboxSource:
    """Open the mailbox a SPEC names; raise CompareError when it cannot be read."""
    parsed = parse_spec(spec)
    if isinstance(parsed, Path):
        return MaildirSource(parsed)
    return ImapSource(parsed)


# --- command line ------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.compare",
        description="Compare two mailboxes folder by folder (exit 0 identical, 1 different, "
                    "2 error). SPEC: imap://user:pw@host:port[?login=L&authzid=Z&starttls=1], "
                    "imaps://...[?cafile=F], or maildir:PATH (Maildir++).")
    parser.add_argument("a", metavar="SPEC_A", help="the reference mailbox (e.g. the source)")
    parser.add_argument("b", metavar="SPEC_B", help="the mailbox checked against it")
    parser.add_argument("--date-tolerance", type=float, default=0.0, metavar="SECONDS",
                        help="allowed INTERNALDATE difference (default 0)")
    parser.add_argument("--ignore-folder", action="append", default=[], metavar="PATH",
                        help="logical folder path to skip, parts joined by '/' (repeatable)")
    parser.add_argument("--by-special-use", action="store_true",
                        help="match Sent/Drafts/Trash/Junk/Archive folders by role, not name")
    parser.add_argument("--gmail-policy", choices=POLICIES, metavar="POLICY",
                        help="SPEC_A is Gmail-shaped: compare what POLICY (OneCopy or "
                             "EveryLabel) puts on the target (no view folders, All Mail's "
                             "unlabeled mail in Archive; implies --by-special-use)")
    return parser


def _gmail(source: MailboxSource, policy: str
           ) -> tuple[MailboxSource, dict[FolderPath, FolderPath] | None]:
    """The Gmail view of SPEC_A (engine/verify/gmail.py) and All Mail's folder on B."""
    if not isinstance(source, ImapReader):
        raise CompareError("--gmail-policy: SPEC_A must be an IMAP mailbox")
    view = gmail_view(source, source, policy)
    if view is None:
        raise CompareError(f"--gmail-policy: {source.description} is not Gmail-shaped (no "
                           "\\All folder under [Gmail]/ and no X-GM-EXT-1)")
    return view, ({view.all_mail: ("\\Archive",)} if view.all_mail is not None else None)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # exits 2 on usage errors
    sources: list[MailboxSource] = []
    try:
        sources.append(open_source(args.a))
        sources.append(open_source(args.b))
        a, folder_map = sources[0], None
        if args.gmail_policy is not None:
            a, folder_map = _gmail(sources[0], args.gmail_policy)
        report = compare(a, sources[1], ignore_folders=args.ignore_folder,
                         date_tolerance=args.date_tolerance, folder_map=folder_map,
                         by_special_use=args.by_special_use or args.gmail_policy is not None)
    except (CompareError, ImshError) as exc:
        print(f"compare: error: {exc}", file=sys.stderr)
        return 2
    finally:
        for source in sources:
            source.close()
    print(report.format())
    return 0 if report.identical else 1


if __name__ == "__main__":
    sys.exit(main())
