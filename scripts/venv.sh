#!/usr/bin/env bash
# Create (or refresh) the pinned virtual environment .venv/<core-version> and print its path.
# Usage: scripts/venv.sh 2.19 (pinned ansible-core) or scripts/venv.sh tools (linters, builders)
set -euo pipefail
version=${1:?usage: scripts/venv.sh <ansible-core version, e.g. 2.19, or tools>}
root=$(cd "$(dirname "$0")/.." && pwd)
case $version in [0-9]*) requirements="$root/tests/requirements/core-$version.txt" ;; *) requirements="$root/tests/requirements/$version.txt" ;; esac
venv="$root/.venv/$version"
stamp="$venv/.requirements.sha256"
[ -f "$requirements" ] || { echo "no pinned requirements for ansible-core $version: $requirements" >&2; exit 2; }
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Preparing $venv (pinned: tests/requirements)..." >&2
    "${PYTHON:-python3}" -m venv --clear "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
    echo "$want" > "$stamp"
fi
echo "$venv"
