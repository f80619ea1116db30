#!/usr/bin/env bash
# Run ansible-test on a staged copy of the collection (scripts/stage.sh) with pinned ansible-core.
# A core that needs Python 3.12+ (tests/requirements/core-<core>.txt names scripts/trixie.sh) runs in the Debian 13 root.
# Usage: scripts/ansible-test.sh <core version> <ansible-test arguments...>
set -euo pipefail
version=${1:?usage: scripts/ansible-test.sh <core version> <ansible-test args...>}
shift
root=$(cd "$(dirname "$0")/.." && pwd)

if grep -q '^# .*scripts/trixie.sh' "$root/tests/requirements/core-$version.txt" 2>/dev/null; then
    "$root/scripts/trixie.sh" venv "$version" >/dev/null
    chroot_dir="$root/.venv/trixie/root"
    stage=$(TMPDIR="$chroot_dir/tmp" "$root/scripts/stage.sh")
    trap 'rm -rf "${stage%/ansible_collections/sfjwt/salesforce}"' EXIT
    "$root/scripts/trixie.sh" run "$version" /usr/bin/env -C "${stage#"$chroot_dir"}" ansible-test "$@"
    exit
fi

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
