"""The one module that reaches below imapclient into imaplib's private surface.

imapclient has no API for what the engine needs in a few places: a ``UID FETCH`` whose answers
are read by UID (engine/imap/commands.py), ``UID SEARCH RETURN (ALL)`` and a header SEARCH with a
literal, pipelined APPEND with LITERAL+ (engine/targets/imap.py), ``LIST ... RETURN (STATUS ...)``
(engine/imap/source.py), and timing every command
(engine/imap/deadline.py). They use imaplib's underscore names (``_command``,
``_command_complete``, ``_untagged_response``, ``_new_tag``, ``_get_tagged_response``) and
imapclient's ``_imap`` and ``_normalise_folder``. Those names live here only
(tests/test_layering.py fails otherwise), so an imaplib or imapclient upgrade that changes them
is fixed in one file. Errors are imapclient's/imaplib's, as from the public API.
"""

from __future__ import annotations

import imaplib
from collections.abc import Callable
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

NewTag = Callable[[], bytes]


def raw_connection(client: IMAPClient) -> imaplib.IMAP4:
    """The imaplib connection under an IMAPClient."""
    imap: imaplib.IMAP4 = client._imap
    return imap


def uid_command(client: IMAPClient, name: str, *args: str, answer: str) -> list[Any]:
    """Send ``UID <name> <args>``, wait for its completion and return the untagged ``answer``
    lines (``FETCH``, ``SEARCH``, ``ESEARCH``). A NO or BAD raises :class:`IMAPClientError`."""
    imap: Any = raw_connection(client)
    tag = imap._command("UID", name, *args)
    typ, data = imap._command_complete(name, tag)
    if typ != "OK":
        raise IMAPClientError(f"{name} failed: {data!r}")
    _typ, data = imap._untagged_response(typ, data, answer)
    return list(data or ())


def command(client: IMAPClient, name: str, *args: str, answers: tuple[str, ...]
            ) -> dict[str, list[Any]]:
    """Send ``<name> <args>`` (not a UID command), wait for its completion and return the
    untagged lines of each of ``answers`` (``LIST``, ``STATUS``), so none is left for a later
    command to find. A NO or BAD raises :class:`IMAPClientError`."""
    imap: Any = raw_connection(client)
    tag = imap._command(name, *args)
    typ, data = imap._command_complete(name, tag)
    if typ != "OK":
        raise IMAPClientError(f"{name} failed: {data!r}")
    found: dict[str, list[Any]] = {}
    for answer in answers:
        _typ, lines = imap._untagged_response(typ, data, answer)
        found[answer] = [line for line in lines or () if line is not None]
    return found


def new_tag(imap: imaplib.IMAP4) -> bytes:
    """A fresh command tag, registered so that :func:`tagged_reply` can wait for it."""
    tag: bytes = imap._new_tag()
    return tag


def tagged_reply(imap: imaplib.IMAP4, tag: bytes) -> tuple[str, Any]:
    """Wait for the tagged completion of ``tag``: (``OK``/``NO``/``BAD``, its data)."""
    typ, data = imap._get_tagged_response(tag)
    return typ, data


def quoted_name(client: IMAPClient, name: str) -> bytes:
    """A folder name as imapclient quotes it on the wire."""
    quoted = client._normalise_folder(name)
    return quoted if isinstance(quoted, bytes) else quoted.encode()


def wrap_new_tag(imap: imaplib.IMAP4, wrap: Callable[[NewTag], NewTag]) -> None:
    """Replace the connection's tag source by ``wrap(original)``: every command, pipelined or
    not, asks for a tag first, so this is where a command is seen to begin."""
    imap._new_tag = wrap(imap._new_tag)  # type: ignore[attr-defined]
