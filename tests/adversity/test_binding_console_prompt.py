"""At the console, a destructive batch cmdlet without -Identity asks for it, as PowerShell asks
for a mandatory parameter, and an empty answer is refused as an empty string and removes
nothing (before: it removed the only batch without asking which)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.adversity.binding_support import with_batches
from tests.adversity.console_support import Console
from tests.support.servers import ImapServer

pytestmark = [
    pytest.mark.servers,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def test_console_asks_for_the_identity_and_an_empty_answer_removes_nothing(
    tmp_path: Path, dovecot: ImapServer
) -> None:
    admin = with_batches(tmp_path, dovecot, "Production")
    console = Console(admin.state)
    console.start()
    try:
        console.type_line("Remove-MigrationBatch -Confirm:$false")
        console.wait_for(lambda s: "Supply values for the following parameters:" in s
                         and "Identity:" in s, "the prompt for the mandatory Identity")
        console.send("Enter")
        console.wait_for(lambda s: "parameter 'Identity' because it is an empty string." in s,
                         "the refusal of the empty answer")
        console.quit()
    finally:
        console.stop()
    assert list(admin.batches()) == ["Production"]
