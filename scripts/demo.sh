#!/usr/bin/env bash
# The main job on a fresh machine: install what imsh needs, then run a demo migration from
# a throwaway Dovecot (three users with generated mailboxes) into the default LocalMaildir
# target, and check the result with the comparer.  Options go to scripts/demo.py
# (--users N, --messages N, --keep).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/servers/install-system-packages.sh
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e .
exec python3 -m scripts.demo.run "$@"
