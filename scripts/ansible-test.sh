#!/usr/bin/env bash
# Run ansible-test on a staged copy of the collection (scripts/stage.sh) with pinned ansible-core.
# Usage: scripts/ansible-test.sh <core version> <ansible-test arguments...>
set -euo pipefail
version=${1:?usage: scripts/ansible-test.sh <core version> <ansible-test args...>}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/scripts/venv.sh" "$version")
stage=$("$root/scripts/stage.sh")
trap 'rm -rf "${stage%/ansible_collections/sfjwt/salesforce}"' EXIT

# ansible-test bootstraps pip in its virtual environments with a script it downloads from a host this
# network does not reach; it uses a cached copy first, so put the offline stand-in there.
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',\$/\1/p" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n1)
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/scripts/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

cd "$stage"
"$venv/bin/ansible-test" "$@"
