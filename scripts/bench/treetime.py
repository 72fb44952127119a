"""Run one command and account for its whole process tree, detached descendants included.

``python -m scripts.bench.treetime RESULT.json -- COMMAND...`` makes itself a child subreaper
(prctl PR_SET_CHILD_SUBREAPER), so a process the command leaves behind - imsh's detached runner -
is reparented here instead of to init, and is reaped here when it ends. The CPU time of every
reaped descendant then appears in this process's RUSAGE_CHILDREN, which is what ``/usr/bin/time``
reports for a single process. It writes ``{"wall", "tail", "user", "sys", "maxrss_kb",
"status"}``: ``wall`` until COMMAND itself exited, ``tail`` until the last descendant did,
``maxrss_kb`` the largest resident set of any one process of the tree (the kernel's ru_maxrss).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def reap_all() -> None:
    """Wait for every remaining child (orphaned descendants become children here)."""
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m scripts.bench.treetime RESULT.json -- COMMAND...",
              file=sys.stderr)
        return 2
    result_path, command = argv[0], argv[2:]
    become_subreaper()
    began = time.monotonic()
    status = subprocess.call(command)
    wall = time.monotonic() - began
    reap_all()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {"wall": wall, "tail": time.monotonic() - began, "user": usage.ru_utime,
              "sys": usage.ru_stime, "maxrss_kb": usage.ru_maxrss, "status": status}
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
