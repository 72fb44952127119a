"""A migration user's folders as an admin reads them (the dashboard's user page).

The store keeps a folder's raw source name (modified UTF-7, the server's separator) and its
target path as a JSON list of parts (engine/sync/state.py); this module turns both into paths
joined with ``/`` (``engine.folders.display_name``), so no face of imsh decodes stored forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.folders import display_name, source_path
from engine.store import Store
from engine.sync.state import decode_target_path


@dataclass(frozen=True)
class UserFolder:
    source: str  # e.g. "Archive/2019", "日本語"
    target: str | None  # None before the folder was first mapped
    excluded: bool
    last_synced_at: datetime | None


def user_folders(store: Store, identity: str) -> list[UserFolder]:
    user = store.users.get(identity)
    folders = []
    for folder in store.folders.list(user.id):
        target = decode_target_path(folder.target_name)
        folders.append(UserFolder(
            display_name(source_path(folder.source_name, folder.source_separator)),
            display_name(target) if target is not None else None,
            folder.excluded, folder.last_synced_at))
    return folders
