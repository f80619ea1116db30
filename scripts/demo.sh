#!/usr/bin/env bash
# `make demo`: the whole flow, offline, against the bundled fake org.
#   1. install the pinned tools (.venv/2.19) and build + install the collection, as a user would;
#   2. start the fake org (HTTPS, its own test CA), which treats the app metadata written to
#      build/demo/sfjwt/project as deployed (it stands in for `sf project deploy start`);
#   3. ansible-playbook sfjwt.salesforce.provision  (key, certificate, app metadata, token, GET limits);
#   4. ansible-playbook sfjwt.salesforce.limits      (the org's limits, with the cached token);
#   5. stop the fake org.
# Everything is written under build/demo; run it again to see the idempotent second run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/scripts/venv.sh" 2.19)
work="$root/build/demo"
mkdir -p "$work"
rm -rf "$work/galaxy" "$work/org"

echo "== Building and installing the collection"
collections=$("$venv/bin/python" -c "
import sys; sys.path.insert(0, sys.argv[2])
from conftest import build_and_install; from pathlib import Path
print(build_and_install(Path(sys.argv[1])))" "$work/galaxy" "$root/tests/integration")

echo "== Starting the fake Salesforce org"
mkdir -p "$work/org" "$work/sfjwt/project"
PYTHONPATH="$root/tests" "$venv/bin/python" -m fake_org --workdir "$work/org" \
    --metadata-dir "$work/sfjwt/project" --user integration@example.com:SFJWT_Integration \
    --ready-file "$work/org/ready.json" > "$work/org/fake-org.log" 2>&1 &
org_pid=$!
trap 'kill "$org_pid" 2>/dev/null; wait "$org_pid" 2>/dev/null || true; echo "== Fake org stopped"' EXIT
for _ in $(seq 100); do
    [ -s "$work/org/ready.json" ] && break
    kill -0 "$org_pid" 2>/dev/null || { cat "$work/org/fake-org.log" >&2; exit 1; }
    sleep 0.1
done
[ -s "$work/org/ready.json" ] || { echo "the fake org did not start; see $work/org/fake-org.log" >&2; exit 1; }
read_ready() { "$venv/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/org/ready.json" "$1"; }
org_url=$(read_ready url)
echo "   $org_url (CA: $(read_ready ca_path))"

# The same settings a real org takes (README: "Pointing it at a real org"), here aimed at the fake one.
export ANSIBLE_COLLECTIONS_PATH="$collections"
# Only the implicit localhost is used: no inventory needed, so no warning about it.
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export SFJWT_LOGIN_URL="$org_url"
export SFJWT_CA_PATH
SFJWT_CA_PATH=$(read_ready ca_path)
export SFJWT_USERNAME=integration@example.com
export SFJWT_CONTACT_EMAIL=admin@example.com
export SFJWT_CACHE_DIR="$work/token-cache"

cd "$work"
echo "== ansible-playbook sfjwt.salesforce.provision"
"$venv/bin/ansible-playbook" sfjwt.salesforce.provision -e '{"sfjwt_provision_permission_sets": ["SFJWT_Integration"]}'
echo "== ansible-playbook sfjwt.salesforce.limits"
"$venv/bin/ansible-playbook" sfjwt.salesforce.limits
