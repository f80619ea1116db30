#!/usr/bin/env bash
# Copy the collection to <dir>/ansible_collections/sfjwt/salesforce (where ansible-test and ansible-lint
# need it) and print that path. Copies what git tracks or would track, so the stage is the change under test.
# <dir> is a new temporary directory outside the checkout (inside it, ansible-test would ask git and see
# only ignored files), so concurrent runs never share a stage; the caller removes it.
# Usage: scripts/stage.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage="$(mktemp -d "${TMPDIR:-/tmp}/sfjwt-stage-XXXXXX")/ansible_collections/sfjwt/salesforce"
mkdir -p "$stage"
(cd "$root" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar --null -T - -cf - | tar -xf - -C "$stage")
echo "$stage"
