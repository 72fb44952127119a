"""A thin proxy rule that makes a Dovecot look like Gmail's IMAP: ``X-GM-EXT-1``.

:class:`GmailExtension` (a :class:`tests.support.imap_proxy.Rule`) adds ``X-GM-EXT-1`` to every
capability list and answers the ``X-GM-MSGID`` FETCH item: the command reaches Dovecot with the
item replaced by ``BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]``, and the answer goes back as
``X-GM-MSGID <n>``, n a stable 63-bit number derived from the Message-ID, so every copy of one
message (tests/support/gmail.py puts the same bytes in each label folder) carries the same id,
as on Gmail. With ``labels`` (``tests.support.gmail.labels_by_message_id``: which label folders
show each message, read from the Dovecot behind the proxy when the command arrives) it answers
``X-GM-LABELS`` too, as Gmail spells it: ``(\\Inbox \\Important "Work")``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tests.support.imap_proxy import _FETCH, Connection, Rule, fetch_items

EXTENSION = b"X-GM-EXT-1"
_ITEM = re.compile(rb"X-GM-MSGID", re.IGNORECASE)
_STANDIN = b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
_ANSWERED = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
_LABELS = re.compile(rb" ?X-GM-LABELS", re.IGNORECASE)
# with X-GM-LABELS asked too, a header field no message has marks the answer (stateless)
_LABELLED = b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID X-GM-LABELS-ASKED)]"
_LABELLED_ANSWER = b"BODY[HEADER.FIELDS (MESSAGE-ID X-GM-LABELS-ASKED)]"
Labels = Mapping[bytes, tuple[bytes, ...]]  # Message-ID value -> X-GM-LABELS atoms/strings


def msgid_of(header: bytes) -> int:
    value = header.split(b":", 1)[1].strip() if b":" in header else header.strip()
    return int.from_bytes(hashlib.sha256(value).digest()[:8], "big") >> 1


@dataclass
class GmailExtension(Rule):
    """Offer X-GM-EXT-1; answer X-GM-MSGID (and X-GM-LABELS when ``labels`` is given).
    ``hits`` counts the ids answered, ``label_hits`` the label lists."""

    labels: Callable[[], Labels] | None = None
    label_hits: int = 0
    _current: Labels = field(default_factory=dict)

    def rewrite_command(self, conn: Connection, line: bytes) -> bytes:
        if b" FETCH " in line.upper() and _ITEM.search(line):
            if _LABELS.search(line) and self.labels is not None:
                self._current = self.labels()
                return _ITEM.sub(_LABELLED.replace(b"\\", b"\\\\"), _LABELS.sub(b"", line))
            return _ITEM.sub(_STANDIN.replace(b"\\", b"\\\\"), line)
        return line

    def on_response(self, conn: Connection, response: bytes) -> list[bytes]:
        if b"CAPABILITY" in response.upper() and b"IMAP4REV1" in response.upper():
            return [re.sub(rb"IMAP4rev1", b"IMAP4rev1 " + EXTENSION, response, count=1,
                           flags=re.IGNORECASE)]
        if not _FETCH.match(response) or not conn.busy_with("BODY.PEEK[HEADER.FIELDS (MESSAGE-ID"):
            return [response]
        for name, value, start, end in fetch_items(response):
            if name in (_ANSWERED, _LABELLED_ANSWER):
                header = value.split(b"\r\n", 1)[1] if value.startswith(b"{") else value
                self.hits += 1
                item = b"X-GM-MSGID " + str(msgid_of(header.strip())).encode()
                if name == _LABELLED_ANSWER:
                    self.label_hits += 1
                    key = header.strip().split(b":", 1)[-1].strip()
                    item += b" X-GM-LABELS (" + b" ".join(self._current.get(key, ())) + b")"
                return [response[:start] + item + response[end:]]
        return [response]
