#!/usr/bin/env bash
# ansible-lint (production profile) on the roles and playbooks, from a staged copy of the collection.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/scripts/venv.sh" tools)
stage=$("$root/scripts/stage.sh")
collections=${stage%/ansible_collections/sfjwt/salesforce}
trap 'rm -rf "$collections"' EXIT
cd "$stage"
# Offline: ansible-lint must not try to install collections from Galaxy; it finds this one through the stage.
ANSIBLE_COLLECTIONS_PATH="$collections" "$venv/bin/ansible-lint" --offline --profile production roles/ playbooks/ "$@"
