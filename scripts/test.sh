#!/usr/bin/env bash
# Set up a fresh machine (system packages, the imsh package) and run the whole test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k csv -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/servers/install-system-packages.sh
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e '.[test,dev]'

echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== pytest"
set +e
python3 -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$status"
