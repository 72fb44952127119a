"""What the interactive console remembers between sessions, and what it keeps out.

The console (shell/host.py) saves the lines typed at it in ``<state>/history`` so that the up
arrow reaches earlier sessions. Two rules keep that file from leaking credentials:

* **Secret-bearing lines are not saved.** A line matching :data:`SENSITIVE` is run and can be
  recalled with the up arrow until the console exits, but never reaches the file — PSReadLine's
  default AddToHistoryHandler does the same (its ``MemoryOnly``). The pattern is PSReadLine's
  (``password|asplaintext|token|apikey|secret``, case-insensitive, anywhere in the line) plus
  ``ConvertTo-SecureString`` and ``Get-Credential`` in any spelling, so
  ``ConvertTo-SecureString 'pw' -a -f`` (parameter prefixes) is caught too, and ``AsPlain``
  (a hashtable key or parameter prefix: ``$h=@{String='pw';AsPlain=$true}`` is the first line
  of a splatted ``ConvertTo-SecureString @h`` and carries the password itself). PSReadLine's later
  refinement that lets some such lines through after parsing them (``Get-Secret ...``) is not
  copied: leaving a harmless line out of the history costs a retyped line, saving a password
  costs the password.
* **Tokens are masked in files.** The transcript (Start-Transcript) records everything shown,
  and ``Start-MigrationDashboard`` shows its URL with ``?token=…`` so the admin can open it;
  :func:`mask_tokens` rewrites every ``token=`` value to ``********`` in what is written to the
  transcript file, while the terminal still shows the usable URL once. The command line that
  typed a token is already left out by the first rule.
* **The file is private.** :func:`prepare_history_file` creates it 0600 before the line reader
  opens it, and makes a file left 0644 by an older imsh 0600 again; the state directory
  around it is created 0700 first (engine/paths.py). The line reader rewrites the file in place
  on exit, which keeps its mode.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

SENSITIVE = re.compile(
    r"password|asplain|token|apikey|secret|convertto-securestring|get-credential",
    re.IGNORECASE,
)
FILE_MODE = 0o600
TOKEN_VALUE = re.compile(r"(token=)[^&\s#'\"]+", re.IGNORECASE)
TOKEN_MASK = "********"


def is_sensitive(line: str) -> bool:
    """True when ``line`` may carry a secret and must stay out of the history file."""
    return SENSITIVE.search(line) is not None


def mask_tokens(text: str) -> str:
    """``text`` with the value of every ``token=`` (a URL query parameter) masked."""
    return TOKEN_VALUE.sub(lambda match: match.group(1) + TOKEN_MASK, text)


def prepare_history_file(path: Path) -> Path:
    """Create ``path`` with mode 0600 if missing; make an existing one 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    if stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
        os.chmod(path, FILE_MODE)
    return path
