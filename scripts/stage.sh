#!/usr/bin/env bash
# Copy the collection to <dir>/ansible_collections/sfjwt/salesforce (where ansible-test and ansible-lint
# need it) and print that path. Copies what git tracks or would track, so the stage is the change under test.
# The default <dir> is outside the checkout: inside it, ansible-test would ask git and see only ignored files.
# Usage: scripts/stage.sh [name]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage="${SFJWT_STAGE_DIR:-${TMPDIR:-/tmp}/sfjwt-stage-$(id -u)}/${1:-default}/ansible_collections/sfjwt/salesforce"
rm -rf "$stage"
mkdir -p "$stage"
(cd "$root" && git ls-files -z --cached --others --exclude-standard \
    | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
    | tar --null -T - -cf - | tar -xf - -C "$stage")
echo "$stage"
