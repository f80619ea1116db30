#!/usr/bin/env bash
# A Debian 13 (trixie) root with Python 3.13, for the ansible-core versions that need Python 3.12 or newer (2.20, 2.21).
# This machine's Python is 3.11; `pip install ansible` on any current system gives a core this Python cannot run.
#
# Usage: scripts/trixie.sh venv <core>            build the root and its pinned venv (once; reused); print the venv path
#        scripts/trixie.sh run <core> <cmd...>     run a command in the root with that venv first on PATH
#
# Needs root (debootstrap, chroot, mount). What it builds lives in .venv/trixie (ignored by git):
#   root/                        minbase Debian 13 with the PACKAGES below
#   root/opt/sfjwt/<core>/       the pinned venv of tests/requirements/core-<core>.txt
#   wheels/<core>/               the wheels, fetched on this host: pip inside the root refuses this network's TLS
#                                interception under Python 3.13's strict certificate checks
# `run` binds the checkout at the same path inside the root, in a mount namespace of its own (unshare), so every mount
# goes away with the command, whatever happens to it.
set -euo pipefail
root_dir=$(cd "$(dirname "$0")/.." && pwd)
base="$root_dir/.venv/trixie"
chroot_dir="$base/root"
SUITE=trixie
PYTHON_VERSION=3.13
# chattr (e2fsprogs): the bad-input tests make a directory immutable, which root could write to otherwise.
PACKAGES=python3,python3-venv,ca-certificates,openssl,e2fsprogs

die() { echo "scripts/trixie.sh: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mount); CI runs as root."

mirror() {
    # The Debian mirror already configured for this machine's apt (deb822 or one-line format), else Debian's own.
    local files=() uri
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do [ -f "$f" ] && files+=("$f"); done
    uri=$(cat "${files[@]}" /dev/null | grep -o -E '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' | head -n1 | awk '{print $2}' || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

build_root() {
    [ "$(cat "$chroot_dir/.sfjwt-ready" 2>/dev/null)" = "$SUITE $PACKAGES" ] && return 0
    if ! command -v debootstrap >/dev/null; then
        echo "Installing debootstrap..." >&2
        (apt-get update -qq && apt-get install -y -qq debootstrap) >/dev/null || die "could not install debootstrap"
    fi
    echo "Building a Debian 13 root in $chroot_dir (about 90 s)..." >&2
    rm -rf --one-file-system "$chroot_dir"
    mkdir -p "$base"
    debootstrap --variant=minbase --include="$PACKAGES" \
        "$SUITE" "$chroot_dir" "$(mirror)" > "$base/debootstrap.log" 2>&1 \
        || { tail -n 20 "$base/debootstrap.log" >&2; die "debootstrap failed (log: $base/debootstrap.log)"; }
    cp /etc/hosts "$chroot_dir/etc/hosts"
    echo "$SUITE $PACKAGES" > "$chroot_dir/.sfjwt-ready"
}

in_root() {
    # Runs "$@" chrooted, with /proc, /dev and the checkout bound in a private mount namespace, in the current directory
    # when it is inside the checkout (else the checkout's root), with a clean environment: pass variables as NAME=value.
    # shellcheck disable=SC2016  # the script is bash -c's, its $1... are its own arguments
    unshare --mount --propagation private -- bash -euc '
        root=$1; repo=$2; cwd=$3; shift 3
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        mkdir -p "$root$repo"
        mount --bind "$repo" "$root$repo"
        case $cwd in "$repo"|"$repo"/*) ;; *) cwd=$repo ;; esac
        exec chroot "$root" /usr/bin/env -i -C "$cwd" HOME=/root LANG=C.UTF-8 TERM=dumb \
            PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$@"
    ' bash "$chroot_dir" "$root_dir" "$PWD" "$@"
}

venv_path() { echo "/opt/sfjwt/$1"; }

build_venv() {
    local core=$1 requirements want stamp wheels venv
    requirements="$root_dir/tests/requirements/core-$core.txt"
    [ -f "$requirements" ] || die "no pinned requirements for ansible-core $core: $requirements"
    venv=$(venv_path "$core")
    stamp="$chroot_dir$venv/.requirements.sha256"
    want=$(sha256sum "$requirements" | cut -d' ' -f1)
    ready() { [ -x "$chroot_dir$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
        && [ "$(cat "$chroot_dir/.sfjwt-ready" 2>/dev/null)" = "$SUITE $PACKAGES" ]; }
    ready && return 0
    mkdir -p "$base"
    exec 9>"$base/.lock"
    flock 9   # concurrent runs build once
    if ready; then exec 9>&-; return 0; fi
    build_root
    wheels="$base/wheels/$core"
    echo "Fetching the wheels of ansible-core $core for Python $PYTHON_VERSION..." >&2
    rm -rf "$wheels"; mkdir -p "$wheels"
    "${PYTHON:-python3}" -m pip download --quiet --disable-pip-version-check --python-version "$PYTHON_VERSION" \
        --only-binary=:all: -d "$wheels" -r "$requirements" > "$base/pip-download.log" 2>&1 \
        || { grep -v -E "^WARNING: Location 'file:" "$base/pip-download.log" >&2; die "could not fetch the wheels for $requirements"; }
    echo "Preparing $venv in the Debian 13 root (pinned: tests/requirements/core-$core.txt)..." >&2
    rm -rf "${chroot_dir:?}$venv"; mkdir -p "$chroot_dir/opt/sfjwt" "$chroot_dir/wheels"
    rm -rf "$chroot_dir/wheels"; cp -r "$wheels" "$chroot_dir/wheels"
    in_root python3 -m venv "$venv"
    in_root "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --find-links /wheels \
        -r /dev/stdin < "$requirements" >&2
    rm -rf "$chroot_dir/wheels"
    echo "$want" > "$stamp"
    exec 9>&-
}

command=${1:-}
core=${2:-}
[ -n "$core" ] || die "usage: scripts/trixie.sh venv <core> | run <core> <command...>"
case $command in
    venv)
        build_venv "$core"
        venv_path "$core" ;;
    run)
        shift 2
        build_venv "$core"
        venv=$(venv_path "$core")
        # Shared while the command runs: a build (exclusive) in another run waits instead of removing what it uses.
        exec 9>"$base/.lock"
        flock -s 9
        in_root /usr/bin/env "PATH=$venv/bin:/usr/local/bin:/usr/bin:/bin" "VIRTUAL_ENV=$venv" "$@" ;;
    *) die "unknown command: $command" ;;
esac
