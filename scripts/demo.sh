#!/usr/bin/env bash
# `make demo`: the whole flow, offline, against the bundled fake org.
#   1. install the pinned tools (.venv/2.19) and build + install the collection, as a user would;
#   2. start the fake org (HTTPS, its own test CA) with an admin integration already set up, as an org's existing
#      admin app would be, and an integration user who holds nothing yet; apps it deploys take a few seconds to apply;
#   3. ansible-playbook sfjwt.salesforce.provision with deploy on: key, certificate, app metadata, deploy (admin),
#      permission set assigned, wait until Salesforce accepts the app, token, GET limits;
#   4. ansible-playbook sfjwt.salesforce.limits (the org's limits, with the cached token);
#   5. ansible-playbook sfjwt.salesforce.doctor (a CI job's pre-flight: every check of the login, one token request);
#   6. the provision playbook again: nothing changes, nothing is deployed;
#   7. stop the fake org, and say what was written where and how to go on (run the playbooks against `make fake-org`).
# Everything is written under build/demo, fresh on every run (the fake org starts empty every time).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/scripts/venv.sh" 2.19)
work="$root/build/demo"
rm -rf "$work"
mkdir -p "$work/org"

echo "== Building and installing the collection"
collections=$("$venv/bin/python" -c "
import sys; sys.path.insert(0, sys.argv[2])
from conftest import build_and_install; from pathlib import Path
print(build_and_install(Path(sys.argv[1])))" "$work/galaxy" "$root/tests/integration")

echo "== Starting the fake Salesforce org"
# shellcheck source=scripts/fake_org_start.sh
. "$root/scripts/fake_org_start.sh"
start_fake_org "$venv" "$work/org" --admin admin@example.com --user integration@example.com --propagation-delay 8
trap 'kill "$org_pid" 2>/dev/null; wait "$org_pid" 2>/dev/null || true; echo "== Fake org stopped"' EXIT
read_ready() { "$venv/bin/python" -c "
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split('.'):
    value = value[key]
print(value)" "$work/org/ready.json" "$1"; }
org_url=$(read_ready url)
echo "   $org_url (CA: $(read_ready ca_path)); admin integration: $(read_ready admin.username)"

# The same settings a real org takes (README: "Pointing it at a real org"), here aimed at the fake one.
export ANSIBLE_COLLECTIONS_PATH="$collections"
# Only the implicit localhost is used: no inventory needed, so no warning about it.
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export SFJWT_LOGIN_URL="$org_url"
export SFJWT_CA_PATH SFJWT_ADMIN_CONSUMER_KEY SFJWT_ADMIN_USERNAME SFJWT_ADMIN_PRIVATE_KEY_PATH
SFJWT_CA_PATH=$(read_ready ca_path)
SFJWT_ADMIN_CONSUMER_KEY=$(read_ready admin.consumer_key)
SFJWT_ADMIN_USERNAME=$(read_ready admin.username)
SFJWT_ADMIN_PRIVATE_KEY_PATH=$(read_ready admin.private_key_path)
export SFJWT_USERNAME=integration@example.com
export SFJWT_CONTACT_EMAIL=admin@example.com
export SFJWT_CACHE_DIR="$work/token-cache"
provision=(sfjwt.salesforce.provision -e sfjwt_provision_deploy=true -e sfjwt_provision_propagation_interval=1)

cd "$work"
echo "== ansible-playbook sfjwt.salesforce.provision -e sfjwt_provision_deploy=true (from nothing)"
"$venv/bin/ansible-playbook" "${provision[@]}"
echo "== ansible-playbook sfjwt.salesforce.limits"
"$venv/bin/ansible-playbook" sfjwt.salesforce.limits
echo "== ansible-playbook sfjwt.salesforce.doctor (a CI job's pre-flight: every check, one login)"
"$venv/bin/ansible-playbook" sfjwt.salesforce.doctor
echo "== ansible-playbook sfjwt.salesforce.provision -e sfjwt_provision_deploy=true (again: nothing to change)"
"$venv/bin/ansible-playbook" "${provision[@]}" | tee "$work/second-run.log"
grep -Eq '^localhost +: ok=[0-9]+ +changed=0 ' "$work/second-run.log" \
    || { echo "the second run changed something; see $work/second-run.log" >&2; exit 1; }
echo "== The second run changed nothing and deployed nothing."

# What a user needs to go on: the files, and the commands to run the same playbooks themselves. The fake org stops
# with this script (the EXIT trap), so they run against the one `make fake-org` starts.
cat <<SUMMARY
== Summary
Written under $work:
   $work/sfjwt/server.key              the integration's private key (0600; never commit it)
   $work/sfjwt/server.crt              its self-signed certificate
   $work/sfjwt/project                 the External Client App metadata (deployed to the fake org; holds the consumer key)
   $work/token-cache                   the cached access tokens
   $collections    the collection, built from this checkout and installed
   $work/second-run.log    the second provision run's output
   $work/org/fake-org.log    the fake org's log
The fake org stops now. To run the playbooks yourself, against a fresh fake org:
   1. in one shell: make fake-org   (it prints export lines; it runs until Ctrl-C)
   2. in another shell: paste those export lines, then
      export ANSIBLE_COLLECTIONS_PATH=$collections
      cd \$(mktemp -d)   # the provision playbook writes ./sfjwt; limits and doctor read it from there
      $venv/bin/ansible-playbook sfjwt.salesforce.provision -e sfjwt_provision_deploy=true
      $venv/bin/ansible-playbook sfjwt.salesforce.limits
      $venv/bin/ansible-playbook sfjwt.salesforce.doctor
Against a real org: README.md, "Pointing it at a real org".
SUMMARY
