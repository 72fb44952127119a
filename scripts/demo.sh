#!/usr/bin/env bash
# The main job on a fresh machine: install what imsh needs (scripts/setup.sh: Debian packages
# and a virtual environment), then run a demo migration from a throwaway Dovecot (three users
# with generated mailboxes) into the default LocalMaildir target, and check the result with
# the comparer.  Options go to scripts/demo/run.py (--users N, --messages N, --keep).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(bash scripts/setup.sh | tail -n 1)
export PATH="$bin:$PATH"
exec python -m scripts.demo.run "$@"
