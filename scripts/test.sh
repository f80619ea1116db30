#!/usr/bin/env bash
# The whole test suite (README: `make test`; CI: .ci/run). Installs what it needs (.venv/, pinned versions).
# Stages: lint -> sanity -> units -> integration, on the supported ansible-core versions (tests/README.md says which
# stage runs on which core, and why). ansible-core 2.20 and 2.21 need Python 3.12+: they run in the Debian 13 root of
# scripts/trixie.sh (Python 3.13), the others in this machine's Python.
# Usage: scripts/test.sh [stage ...]   (stages: lint sanity units integration; default: all)
#        SFJWT_CORE_VERSIONS="2.16 2.21" scripts/test.sh units   (a subset of the cores, oldest first)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
CORE_VERSIONS=${SFJWT_CORE_VERSIONS:-"2.16 2.19 2.20 2.21"}
NEWEST=${CORE_VERSIONS##* }
OLDEST=${CORE_VERSIONS%% *}
stages=${*:-lint sanity units integration}
failed=()
passed=()
timings=()
logs="$root/tests/output/ci"
rm -rf "$logs"
mkdir -p "$logs"
# pytest's closing summary names each failing test with its first error line; wide enough not to cut it.
export COLUMNS=250

# ansible-test and pip print this machine's find-links notices on every install; keep the log readable.
quiet() { grep -v -E "^WARNING: (Location 'file:|Using locale)" || true; }

# A core whose pinned requirements say so runs in the Debian 13 root (Python 3.13).
in_trixie() { grep -q '^# .*scripts/trixie.sh' "tests/requirements/core-$1.txt"; }

# Runs NAME=value... command... with the core's Python environment first on PATH, where that core runs.
with_core() {
    local core=$1; shift
    if in_trixie "$core"; then
        scripts/trixie.sh run "$core" COLUMNS="$COLUMNS" "$@"
    else
        local venv
        venv=$(scripts/venv.sh "$core") || return 1
        env PATH="$venv/bin:$PATH" "$@"
    fi
}

run_stage() {
    local name=$1; shift
    local log started
    log="$logs/$(echo "$name" | tr -c 'a-zA-Z0-9.\n' '-').log"
    started=$(date +%s)
    echo
    echo "=== $name"
    if "$@" 2>&1 | tee "$log"; then passed+=("$name"); else failed+=("$name"); echo "=== $name FAILED"; fi
    timings+=("$(printf '%5d s  %s' $(($(date +%s) - started)) "$name")")
}

lint() {
    local venv
    venv=$(scripts/venv.sh tools) || return 1
    # antsibull-docs runs ansible-doc, which must be the tools venv's.
    local PATH="$venv/bin:$PATH"
    "$venv/bin/antsibull-changelog" lint || return 1
    local stage rc=0
    stage=$(scripts/stage.sh) || return 1
    "$venv/bin/antsibull-docs" lint-collection-docs --plugin-docs --skip-rstcheck "$stage" || rc=1
    rm -rf "${stage%/ansible_collections/sfjwt/salesforce}"
    [ $rc -eq 0 ] || return 1
    scripts/ansible-lint.sh || return 1
    # What Galaxy shows on upload: its importer on the built tarball, every warning a failure (own pinned venv).
    scripts/galaxy-importer.sh || return 1
}

sanity() {
    # The shellcheck sanity test is skipped with a warning when the program is missing.
    if ! command -v shellcheck >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && apt-get install -y -qq shellcheck) >/dev/null 2>&1 || echo "note: could not install shellcheck"
    fi
    scripts/ansible-test.sh "$1" sanity --requirements --python 3.11 --color no 2>&1 | quiet
    return "${PIPESTATUS[0]}"
}

units() {
    if in_trixie "$1"; then   # the venv has what ansible-test units needs (pip cannot fetch inside the root)
        scripts/ansible-test.sh "$1" units --python 3.13 --color no 2>&1 | quiet
    else
        scripts/ansible-test.sh "$1" units --requirements --python 3.11 --color no 2>&1 | quiet
    fi
    return "${PIPESTATUS[0]}"
}

integration() {
    local core=$1 rc=0 in_process tmp dest inner tools builder=()
    with_core "$core" python -c 'import ansible' || return 1   # prepares the environment once, before the passes
    # The fake org's own tests (tests/fake_org/tests) use neither Ansible nor the collection: once, on the first core.
    if [ "$core" = "${CORE_VERSIONS%% *}" ]; then
        echo "--- the fake org's own tests"
        with_core "$core" python -m pytest tests/fake_org/tests -p no:cacheprovider -n 2 -q -rfE || rc=1
    fi
    if in_trixie "$core"; then
        tmp="$root/.venv/trixie/root/tmp"   # the root's /tmp, seen from here
    else
        tmp=${TMPDIR:-/tmp}
        # The execution-environment tests run ansible-builder from the tools venv (the Python 3.13 venvs have their own).
        tools=$(scripts/venv.sh tools) || return 1
        builder=("ANSIBLE_BUILDER=$tools/bin/ansible-builder")
    fi
    dest=$(mktemp -d "$tmp/sfjwt-galaxy-XXXXXX") || return 1
    inner=${dest#"$root/.venv/trixie/root"}
    # Build and install once; every test then runs ansible-playbook against the installed collection.
    with_core "$core" python -c "
import sys; sys.path.insert(0, 'tests/integration')
from conftest import build_and_install; from pathlib import Path
build_and_install(Path(sys.argv[1]))" "$inner" || { rm -rf "$dest"; return 1; }
    # In the worker on every core; as module processes too on the newest (test_in_process.py runs module processes
    # on every core). tests/README.md says why.
    local ways="true" edge=middle
    [ "$core" = "$NEWEST" ] && ways="true false"
    { [ "$core" = "$OLDEST" ] || [ "$core" = "$NEWEST" ]; } && edge=edge
    for in_process in $ways; do
        echo "--- API modules in process: $in_process"
        with_core "$core" SFJWT_COLLECTIONS_PATH="$inner/collections" SFJWT_TEST_IN_PROCESS="$in_process" \
            SFJWT_TEST_CORE_EDGE="$edge" "${builder[@]}" \
            python -m pytest tests/integration -p no:cacheprovider -n 2 -q -rfE || rc=1
    done
    rm -rf "$dest"
    return $rc
}

for stage in $stages; do
    case $stage in
        lint) run_stage lint lint ;;
        sanity)
            # ansible-test sanity installs each test's tools with pip, which cannot fetch inside the Debian 13 root.
            for core in $CORE_VERSIONS; do
                if in_trixie "$core"; then echo "note: no sanity on ansible-core $core (tests/README.md says why)"
                else run_stage "sanity (ansible-core $core)" sanity "$core"; fi
            done ;;
        units|integration)
            for core in $CORE_VERSIONS; do run_stage "$stage (ansible-core $core)" "$stage" "$core"; done ;;
        *) echo "unknown stage: $stage" >&2; exit 2 ;;
    esac
done

echo
echo "=== time per stage"
printf '%s\n' "${timings[@]}"
echo
echo "=== summary"
for s in "${passed[@]}"; do echo "ok:     $s"; done
for s in "${failed[@]}"; do echo "FAILED: $s"; done
if [ ${#failed[@]} -gt 0 ]; then
    echo
    echo "=== failing tests (first error line; full logs in tests/output/ci/)"
    grep -h -E '^(FAILED|ERROR) |^ERROR: [^F]' "$logs"/*.log | sort -u
    exit 1
fi
