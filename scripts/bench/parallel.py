"""Run many commands, N at a time: how the users scenario drives mbsync and ``doveadm backup``.

``python -m scripts.bench.parallel N COMMANDS.json`` runs the commands of the JSON list (each a
list of arguments), at most N at once, and exits 1 when any of them failed (after all ran).
It runs under :mod:`scripts.bench.treetime`, so the CPU of every command is counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m scripts.bench.parallel N COMMANDS.json", file=sys.stderr)
        return 2
    width = int(argv[0])
    with open(argv[1], encoding="utf-8") as handle:
        commands: list[list[str]] = json.load(handle)
    with ThreadPoolExecutor(max_workers=width) as pool:
        statuses = list(pool.map(subprocess.call, commands))
    failed = [f"{command[0]} #{number}" for number, (command, status)
              in enumerate(zip(commands, statuses, strict=True)) if status != 0]
    if failed:
        print(f"{len(failed)} of {len(commands)} commands failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
