#!/usr/bin/env bash
# Galaxy's importer (galaxy-importer, pinned in tests/requirements/importer.txt) on the tarball built from a staged copy
# of the collection, as Galaxy runs it on upload; any warning or error fails (scripts/galaxy_importer_check.py says why).
# Offline apart from installing the venv from PyPI: no containers, no ansible-test, ansible-lint --offline.
# Usage: scripts/galaxy-importer.sh [collection directory]   (default: a staged copy of this checkout)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/scripts/venv.sh" importer)
work=$(mktemp -d "${TMPDIR:-/tmp}/sfjwt-importer-XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ $# -gt 0 ]; then
    source_dir=$(cd "$1" && pwd)
else
    source_dir=$(TMPDIR="$work" "$root/scripts/stage.sh")
fi
# The tarball users get: galaxy.yml's build_ignore applies.
"$venv/bin/ansible-galaxy" collection build "$source_dir" --output-path "$work/dist" >/dev/null
tarballs=("$work"/dist/*.tar.gz)
"$venv/bin/python" "$root/scripts/galaxy_importer_check.py" "${tarballs[0]}"
