#!/usr/bin/env bash
# Set up this machine for imsh (Debian 12, as root or with sudo): the Debian packages the demo
# and the tests need, then a project virtual environment with imsh installed in editable mode.
#
#   bash scripts/setup.sh [EXTRAS]      e.g. "test,dev" for the test suite's tools
#
# Debian's own python3 is "externally managed" (PEP 668): pip refuses to install into it, so
# imsh lives in a virtual environment, .venv at the top of the repository ($IMSH_VENV to put
# it elsewhere), made by the python3 first on PATH ($IMSH_PYTHON to choose another). Running
# it again only installs what changed. The last line printed is the environment's bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-}

bash scripts/servers/install-system-packages.sh >&2

venv=${IMSH_VENV:-$PWD/.venv}
python=${IMSH_PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    echo "creating the virtual environment $venv with $("$python" -c 'import sys; print(sys.executable, sys.version.split()[0])')" >&2
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}" >&2
# pip compiles the bytecode of what it installs, but not of an editable checkout's own sources,
# and with PYTHONDONTWRITEBYTECODE set Python never writes it either: every `imsh` and every
# runner would then compile ~400 modules at start (0.36 s instead of 0.15 s for `imsh -c`).
"$venv/bin/python" -m compileall -q -j 0 shell cmdlets engine scripts >&2 || true
echo "$venv/bin"
