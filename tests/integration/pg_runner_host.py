"""One runner "host" for tests/integration/test_postgres_two_runners.py, as a process of its own:

    python -m tests.integration.pg_runner_host STATE_DIR

It runs the production :class:`engine.runner.Runner` on its own state directory (its logs,
no state.db) against the PostgreSQL database in ``IMSH_DATABASE``, with the sealing key of
``IMSH_KEY_FILE`` (the key distributed to every host), the paced real executor of
tests/integration/paced_syncer.py (it notes ``<pid> <user id> <time>`` per append batch), two
worker threads (so one runner cannot take every user at once) and a 0.2 s poll. SIGTERM stops
it cleanly.
"""

from __future__ import annotations

import signal
import sys
import threading

from engine.paths import ensure_state_dir, resolve_state_paths
from engine.runner import Runner
from tests.integration.paced_syncer import sync_user


def main(state: str) -> int:
    paths = ensure_state_dir(resolve_state_paths(state))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Runner(paths, sync_user, poll_interval=0.2, max_workers=2).run(False, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
