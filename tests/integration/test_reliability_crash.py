# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Crash safety: ansible-playbook running sfjwt.salesforce.certificate is SIGKILLed (its whole process tree, the
module included) over and over, at random moments and right while it writes. After every kill the key and the
certificate are each a complete file, the old one or the new one; no file with the key in it is readable by others; and a
normal run afterwards repairs the pair."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PLAYBOOK = Path(__file__).resolve().parent / 'playbooks' / 'reliability_crash.yml'
BIN_DIR = Path(sys.executable).parent
PASSPHRASE = 'crash-Passphrase-3d9f'
ITERATIONS = 20
# (what the run rewrites, when it is killed); cycled through ITERATIONS.
SCHEDULE = [
    ('regenerate_key', 'temporary file appears'),
    ('regenerate_key', 'key replaced'),
    ('regenerate_key', 'random'),
    ('force', 'temporary file appears'),
    ('force', 'random'),
]


def vars_file(tmp_path, **values):
    path = tmp_path / ('crash-vars-%d.json' % len(list(tmp_path.glob('crash-vars-*.json'))))
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return path


def start(ansible, variables):
    """ansible-playbook as the harness runs it, with the output discarded (the test looks at the files only)."""
    env = ansible.base_env()
    # Module payloads (AnsiballZ, which embeds the arguments) stay in the test's directory, where they can be checked.
    env['ANSIBLE_REMOTE_TMP'] = str(ansible.workdir / 'remote-tmp')
    args = [str(BIN_DIR / 'ansible-playbook'), str(PLAYBOOK), '-i', 'localhost,', '-c', 'local', '-e', '@%s' % variables]
    return subprocess.Popen(args, cwd=str(ansible.workdir), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def descendants(pid):
    """Every process below pid (from /proc). Ansible's workers call setsid(), so a process group kill would miss them."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def kill_tree(proc):
    """SIGKILL the run with everything it started (the module included) at one moment: freeze the tree, then kill it."""
    frozen = [proc.pid]
    try:
        os.kill(proc.pid, signal.SIGSTOP)
    except ProcessLookupError:
        pass
    for dummy in range(10):  # a process may have been forked while the tree was being frozen
        new = [pid for pid in descendants(proc.pid) if pid not in frozen]
        new += [pid for known in frozen[1:] for pid in descendants(known) if pid not in frozen and pid not in new]
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
                frozen.append(pid)
            except ProcessLookupError:
                pass
    for pid in frozen:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in frozen):
        assert time.monotonic() < deadline, 'processes of the killed run are still alive'
        time.sleep(0.01)
    return len(frozen)


def wait_for(proc, condition, timeout=60):
    """Poll condition() every 0.2 ms until it holds (True) or the run ends by itself (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.0002)
    raise AssertionError('the run neither ended nor reached the moment to kill it')


def temporary_files(directory):
    return [name for name in os.listdir(directory) if name.startswith('.') and name.endswith('.tmp')]


def load_key(data):
    key = serialization.load_pem_private_key(data, password=PASSPHRASE.encode())
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    return key


def public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def assert_nothing_readable_by_others(crash_dir, ansible_dirs):
    """What killed runs leave is private: in the key's directory every file but the certificate (public by design), its
    backups and its temporary file (given the certificate's mode just before the rename, so a kill in that instant leaves
    it 0644) is 0600-like (key temporary files, key backups); Ansible's own temporary directories, where the module
    payload with its arguments (the passphrase) stays after a kill, are closed to others at the top."""
    exposed = []
    for name in os.listdir(crash_dir):
        mode = stat.S_IMODE(os.lstat(crash_dir / name).st_mode)
        certificate_file = name == 'server.crt' or name.startswith(('server.crt.', '.server.crt.'))
        if mode & 0o077 and not certificate_file:
            exposed.append('%s %04o' % (name, mode))
    for root in ansible_dirs:
        if not root.exists():
            continue
        for path in [root] + list(root.iterdir()):
            mode = stat.S_IMODE(os.lstat(path).st_mode)
            if mode & 0o077:
                exposed.append('%s %04o' % (path, mode))
    assert not exposed, exposed


def test_sigkill_while_writing_leaves_old_or_new_files(ansible, tmp_path):
    crash_dir = tmp_path / 'crash'
    crash_dir.mkdir()
    key_path, cert_path = crash_dir / 'server.key', crash_dir / 'server.crt'
    base = {'crash_dir': str(crash_dir), 'crash_passphrase': PASSPHRASE}

    started = time.monotonic()
    first = ansible.playbook(str(PLAYBOOK), extra_args=('-e', '@%s' % vars_file(tmp_path, **base)))
    full_run = time.monotonic() - started
    assert first.rc == 0, first.output
    # Where killed runs leave module payloads (AnsiballZ embeds the arguments) and Ansible's own temporary files.
    leftovers = [ansible.workdir / 'remote-tmp', ansible.workdir / 'ansible-tmp']
    rng = random.Random(os.environ.get('SFJWT_CRASH_SEED', 'sfjwt-crash'))

    outcomes = []
    write_times = []
    for iteration in range(ITERATIONS):
        rewrite, moment = SCHEDULE[iteration % len(SCHEDULE)]
        old_key, old_cert = key_path.read_bytes(), cert_path.read_bytes()
        old_key_inode = key_path.stat().st_ino
        old_temporary = set(temporary_files(crash_dir))  # left by earlier kills
        variables = vars_file(tmp_path, **dict(base, **{'crash_' + rewrite: True}))
        launched = time.monotonic()
        proc = start(ansible, variables)
        if moment == 'random':
            # Aim around the moment earlier runs began to write (a whole run's length until one did), give or take 30 %.
            time.sleep(rng.uniform(0.7, 1.3) * (sorted(write_times)[len(write_times) // 2] if write_times else full_run))
            hit = None
        elif moment == 'temporary file appears':
            hit = wait_for(proc, lambda: set(temporary_files(crash_dir)) - old_temporary)
        else:
            hit = wait_for(proc, lambda: key_path.stat().st_ino != old_key_inode)
        if hit:
            write_times.append(time.monotonic() - launched)
        kill_tree(proc)

        key_data, cert_data = key_path.read_bytes(), cert_path.read_bytes()
        where = 'iteration %d (%s, killed at: %s)' % (iteration, rewrite, moment)
        try:
            key = load_key(key_data)
        except Exception as exc:  # pragma: no cover - the failure itself is the finding
            raise AssertionError('%s: the private key is not a complete key (%d bytes): %r' % (where, len(key_data), exc)) from None
        try:
            cert = x509.load_pem_x509_certificate(cert_data)
        except Exception as exc:  # pragma: no cover
            raise AssertionError('%s: the certificate is not a complete certificate (%d bytes): %r' % (where, len(cert_data), exc)) from None
        if rewrite == 'force':
            assert key_data == old_key, '%s: force must never touch the key' % where
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600, where
        outcomes.append((rewrite, moment, hit, key_data != old_key, cert_data != old_cert,
                         public_der(cert.public_key()) == public_der(key.public_key())))
        assert_nothing_readable_by_others(crash_dir, leftovers)

    # The kills did land inside the module's writes, not only before or after them.
    assert any(hit for rewrite, moment, hit, *dummy in outcomes if moment == 'temporary file appears'), outcomes
    assert any(hit for rewrite, moment, hit, *dummy in outcomes if moment == 'key replaced'), outcomes

    # Whatever the kills left behind, the next normal run makes the pair consistent again, and then keeps it.
    repair_vars = vars_file(tmp_path, **base)
    for attempt in ('repair', 'idempotent'):
        run = ansible.playbook(str(PLAYBOOK), extra_args=('-e', '@%s' % repair_vars))
        assert run.rc == 0, run.output
        if attempt == 'idempotent':
            assert run.result('Key and certificate')['changed'] is False, run.output
    key = load_key(key_path.read_bytes())
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert public_der(cert.public_key()) == public_der(key.public_key())
    assert_nothing_readable_by_others(crash_dir, leftovers)
