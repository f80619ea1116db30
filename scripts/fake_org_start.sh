# shellcheck shell=bash
# Sourced by scripts/demo.sh and scripts/fake_org.sh (not run): start the bundled fake org and wait until it is ready.
# start_fake_org VENV WORKDIR [ARGS...]: `python -m fake_org` from VENV, writing WORKDIR/ready.json (its URL, CA and
# admin) and WORKDIR/fake-org.log; sets org_pid. Fails with the log when the org exits or is not ready in 30 s.
start_fake_org() {
    local venv=$1 work=$2 tests
    shift 2
    tests="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests"
    PYTHONPATH="$tests" "$venv/bin/python" -m fake_org --workdir "$work" --ready-file "$work/ready.json" "$@" \
        > "$work/fake-org.log" 2>&1 &
    org_pid=$!
    for _ in $(seq 300); do
        [ -s "$work/ready.json" ] && return 0
        kill -0 "$org_pid" 2>/dev/null || { cat "$work/fake-org.log" >&2; return 1; }
        sleep 0.1
    done
    kill "$org_pid" 2>/dev/null || true
    echo "the fake org did not start in 30 s; see $work/fake-org.log" >&2
    return 1
}
