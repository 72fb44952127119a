#!/usr/bin/env bash
# Set up a fresh machine (system packages, a virtual environment with imsh and its test
# tools: scripts/setup.sh) and run the whole test suite from that environment.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k csv -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(bash scripts/setup.sh test,dev | tail -n 1)
export PATH="$bin:$PATH"  # imsh, ruff, mypy and the runner's python are the environment's

echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== pytest"
# Two workers (pytest-xdist), one test module each at a time (--dist loadfile): a module's
# module-scoped servers and fixtures stay in one process; each worker starts its own
# session servers on free ports in directories of its own. IMSH_TEST_WORKERS=0 runs in one
# process (pytest's -n 0), e.g. for a debugger.
workers=${IMSH_TEST_WORKERS:-2}
set +e
python -m pytest -n "$workers" --dist loadfile "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$status"
