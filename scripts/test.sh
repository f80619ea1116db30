#!/usr/bin/env bash
# The whole test suite (README: `make test`; CI: .ci/run). Installs what it needs into .venv/.
# Stages: lint -> sanity -> units -> integration, for the oldest and the newest supported ansible-core.
# Usage: scripts/test.sh [stage ...]   (stages: lint sanity units integration; default: all)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
CORE_VERSIONS=${SFJWT_CORE_VERSIONS:-"2.16 2.19"}
stages=${*:-lint sanity units integration}
failed=()
passed=()

# ansible-test and pip print this machine's find-links notices on every install; keep the log readable.
quiet() { grep -v -E "^WARNING: (Location 'file:|Using locale)" || true; }

run_stage() {
    local name=$1; shift
    echo
    echo "=== $name"
    if "$@"; then passed+=("$name"); else failed+=("$name"); echo "=== $name FAILED"; fi
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
    scripts/ansible-test.sh "$1" units --requirements --python 3.11 --color no 2>&1 | quiet
    return "${PIPESTATUS[0]}"
}

# The fake org's own tests (tests/fake_org/tests) use neither Ansible nor the collection, and the venvs differ only in
# ansible-core: they run once per scripts/test.sh run, in the first integration stage.
fake_org_tested=false

integration() {
    local venv dest tools
    venv=$(scripts/venv.sh "$1") || return 1
    local rc=0 in_process
    if [ "$fake_org_tested" = false ]; then
        fake_org_tested=true
        echo "--- the fake org's own tests"
        "$venv/bin/python" -m pytest tests/fake_org/tests -p no:cacheprovider -n 2 -q || rc=1
    fi
    # The execution-environment tests run ansible-builder from the tools venv.
    tools=$(scripts/venv.sh tools) || return 1
    export ANSIBLE_BUILDER="$tools/bin/ansible-builder"
    dest=$(mktemp -d "${TMPDIR:-/tmp}/sfjwt-galaxy-XXXXXX")
    # Build and install once; every test then runs ansible-playbook against the installed collection.
    SFJWT_COLLECTIONS_PATH=$("$venv/bin/python" -c "
import sys; sys.path.insert(0, 'tests/integration')
from conftest import build_and_install; from pathlib import Path
print(build_and_install(Path(sys.argv[1])))" "$dest") || return 1
    export SFJWT_COLLECTIONS_PATH
    # The API modules run in the worker process on local connections, else as module processes: both ways pass the
    # same tests on the newest ansible-core. On the oldest, the suite runs in the worker only (test_in_process.py
    # still runs module processes there), which keeps make test within 30 minutes on 2 cores.
    local ways="true false"
    [ "$1" = "${CORE_VERSIONS##* }" ] || ways="true"
    for in_process in $ways; do
        echo "--- API modules in process: $in_process"
        SFJWT_TEST_IN_PROCESS=$in_process "$venv/bin/python" -m pytest tests/integration -p no:cacheprovider -n 2 -q || rc=1
    done
    unset SFJWT_COLLECTIONS_PATH
    rm -rf "$dest"
    return $rc
}

for stage in $stages; do
    case $stage in
        lint) run_stage lint lint ;;
        sanity|units|integration)
            for core in $CORE_VERSIONS; do run_stage "$stage (ansible-core $core)" "$stage" "$core"; done ;;
        *) echo "unknown stage: $stage" >&2; exit 2 ;;
    esac
done

echo
echo "=== summary"
for s in "${passed[@]}"; do echo "ok:     $s"; done
for s in "${failed[@]}"; do echo "FAILED: $s"; done
[ ${#failed[@]} -eq 0 ]
