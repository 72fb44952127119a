"""Adapters between the store's sync-state rows and the planner's frozen inputs.

Conventions the executor keeps in the store (within what docs/state.md defines):

- ``message_states.fingerprint`` holds :attr:`engine.mail.Fingerprint.key`
  (``message-id|size|unix time|header hash``): the planner compares it as an opaque string and
  :func:`fingerprint_from_key` rebuilds the :class:`~engine.mail.Fingerprint` a target lookup needs.
- ``message_states.flags`` is the flag set, space-separated and sorted (keywords included):
  :func:`engine.mail.flags_text`.
- A *detached* row (its source message vanished during an initial pass) and a tombstone
  (``deleted``) have no source UID; a detached row is found by its target reference.
- ``folder_states.target_name`` is the target folder path as a JSON list of parts (exact for
  any part, unlike a joined name); ``source_uidnext`` stays NULL until a pass over the folder
  completed, so such a folder is always listed again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from engine.folders import FolderPath
from engine.mail import parse_flags
from engine.store.sync_state import FolderRow, MessageRow
from engine.sync.model import FolderState, FolderStatus, KnownMessage, MessageState


def encode_target_path(path: FolderPath) -> str:
    return json.dumps(list(path), ensure_ascii=False)


def decode_target_path(text: str | None) -> FolderPath | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and value and all(isinstance(p, str) for p in value):
        return tuple(value)
    return None


def known_message(row: MessageRow) -> KnownMessage:
    return KnownMessage(row.source_uid, row.fingerprint, row.state, row.target_ref,
                        parse_flags(row.flags), row.hold)


def folder_status(row: FolderRow) -> FolderStatus:
    return FolderStatus(row.source_uidvalidity or 0, row.source_uidnext or 0,
                        row.source_highestmodseq)


def known_folder(row: FolderRow, messages: Iterable[MessageRow]) -> FolderState:
    return FolderState(row.source_name, folder_status(row),
                       tuple(known_message(m) for m in messages
                             if m.state is not MessageState.DELETED),
                       created_by_migration=row.created_by_migration, hold=row.hold)
