"""The dashboard's folder list: stored raw names and JSON target paths read as admin paths."""

from __future__ import annotations

from pathlib import Path

from engine.model import EndpointType
from engine.paths import resolve_state_paths
from engine.service import Engine
from engine.service.batches import BatchRequest
from engine.service.endpoints import EndpointRequest
from engine.store.sync_state import FolderRow
from engine.sync.state import encode_target_path

CSV = b"EmailAddress,UserName,Password\r\nann@contoso.com,ann,pw\r\n"


def test_a_users_folders_read_as_paths_not_stored_forms(tmp_path: Path) -> None:
    with Engine.open(resolve_state_paths(tmp_path / "state", env={})) as engine:
        engine.new_endpoint(EndpointRequest(name="Source", kind=EndpointType.IMAP,
                                            remote_server="127.0.0.1", port=9,
                                            skip_verification=True))
        engine.new_batch(BatchRequest(name="B1", source_endpoint="Source", csv_data=CSV))
        user_id = engine.store.users.get("ann@contoso.com").id
        with engine.store.transaction():
            engine.store.folders.save(user_id, FolderRow(
                "INBOX.&ZeVnLIqe-.Notes", ".", encode_target_path(("日本語", "Notes"))))
            engine.store.folders.save(user_id, FolderRow("Junk", ".", excluded=True))
        folders = {f.source: f for f in engine.get_user_folders("ann@contoso.com")}
    assert set(folders) == {"INBOX/日本語/Notes", "Junk"}
    assert folders["INBOX/日本語/Notes"].target == "日本語/Notes"
    assert folders["Junk"].target is None and folders["Junk"].excluded
