#!/usr/bin/env bash
# `make fake-org`: the bundled fake Salesforce org as a tool, until Ctrl-C.
# Starts it (HTTPS on 127.0.0.1, its own test CA) with an admin integration set up and an integration user who holds
# nothing yet, in the pinned .venv/2.19 (which has the libraries the fake org needs), then prints its URL, CA and admin
# credentials and the `export` lines that point the collection's playbooks at it. Everything it writes is under
# build/fake-org, fresh on every start: the org starts empty every time. Extra arguments go to `python -m fake_org`
# (`make fake-org FAKE_ORG_ARGS='--propagation-delay 8 --port 8443'`; see `--help` there).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/scripts/venv.sh" 2.19)
work="$root/build/fake-org"
rm -rf "$work"
mkdir -p "$work"

# shellcheck source=scripts/fake_org_start.sh
. "$root/scripts/fake_org_start.sh"
start_fake_org "$venv" "$work" --admin admin@example.com --user integration@example.com "$@"
stop() {
    kill -INT "$org_pid" 2>/dev/null || true
    wait "$org_pid" 2>/dev/null || true
    echo "== Fake org stopped (its files stay in $work until the next start)."
}
trap 'stop; exit 0' INT TERM
trap 'kill "$org_pid" 2>/dev/null || true' EXIT

"$venv/bin/python" - "$work/ready.json" <<'PYTHON'
import json, shlex, sys
ready = json.load(open(sys.argv[1]))
admin = ready['admin']
q = shlex.quote
print('== Fake Salesforce org running at %s (pid %s)' % (ready['url'], ready['pid']))
print('   CA certificate (trust it with SFJWT_CA_PATH): %s' % ready['ca_path'])
print('   admin integration: user %s, consumer key %s, private key %s' % (admin['username'], admin['consumer_key'],
                                                                         admin['private_key_path']))
print('   integration user: integration@example.com (holds no permission set yet: the provision playbook assigns one)')
print('== Paste these lines into another shell, then run the playbooks there:')
exports = [
    ('SFJWT_LOGIN_URL', ready['url']),
    ('SFJWT_CA_PATH', ready['ca_path']),
    ('SFJWT_ADMIN_CONSUMER_KEY', admin['consumer_key']),
    ('SFJWT_ADMIN_USERNAME', admin['username']),
    ('SFJWT_ADMIN_PRIVATE_KEY_PATH', admin['private_key_path']),
    ('SFJWT_USERNAME', 'integration@example.com'),
    ('SFJWT_CONTACT_EMAIL', admin['username']),
    # The playbooks use only the implicit localhost: no inventory, so no warnings about one.
    ('ANSIBLE_LOCALHOST_WARNING', 'false'),
    ('ANSIBLE_INVENTORY_UNPARSED_WARNING', 'false'),
]
for name, value in exports:
    print('export %s=%s' % (name, q(value)))
print('== Then, for example:')
print('ansible-playbook sfjwt.salesforce.provision -e sfjwt_provision_deploy=true')
print('ansible-playbook sfjwt.salesforce.limits')
print('== Ctrl-C stops the fake org (its log: %s).' % sys.argv[1].replace('ready.json', 'fake-org.log'))
sys.stdout.flush()
PYTHON
# A Ctrl-C that comes while the lines above are printed is taken by that python (bash then runs no trap): the org,
# which got it too, stops, and this says so all the same.
status=0
wait "$org_pid" || status=$?
echo "== Fake org stopped (its files stay in $work until the next start)."
(exit "$status")   # the org's own exit status
