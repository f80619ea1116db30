# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a fake org until SIGTERM or SIGINT:

    PYTHONPATH=tests python -m fake_org --workdir DIR [--port N] [--user USERNAME[:PERMSET,...]]...
        [--app CONSUMER_KEY:CERT_PATH]... [--admin USERNAME] [--propagation-delay SECONDS] [--sandbox]
        [--no-oauth-secrets-via-metadata] [--latency SECONDS] [--audience URL] [--accounts N]
        [--ready-file FILE] [--verbose]

Once listening it prints one JSON line {"url", "ca_path", "pid"[, "admin"]} to stdout and, atomically, to
--ready-file (removed again on exit). Without --user it knows integration@example.com holding permission
set SFJWT_Integration (`--user NAME` alone: a user without permission sets). An --app is approved for every
--user. Apps can also be deployed through the REST Metadata API (deploy.py), by an admin:

--admin USERNAME writes an RSA key (admin.key, mode 0600) and its self-signed certificate (admin.crt) to
--workdir, registers USERNAME as an admin user and the app SFJWTFAKEORGADMINAPP0001 with that certificate,
which approves the admin; the ready JSON then holds "admin": {"username", "consumer_key", "private_key_path"}.
--sandbox makes the org a sandbox (Organization.IsSandbox; its token endpoint then accepts
https://test.salesforce.com unless --audience says otherwise).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .identities import ADMIN_CONSUMER_KEY, generate_key_and_certificate, write_private_file
from .ready import announce_until_stopped, stop_on_signals
from .server import LOGIN_AUDIENCE, SANDBOX_AUDIENCE, FakeOrg

DEFAULT_USER = 'integration@example.com:SFJWT_Integration'


def _user(spec: str) -> tuple:
    username, _sep, permission_sets = spec.partition(':')
    if not username:
        raise argparse.ArgumentTypeError('expected USERNAME[:PERMSET,...], got %r' % spec)
    return username, [name.strip() for name in permission_sets.split(',') if name.strip()]


def _app(spec: str) -> tuple:
    consumer_key, _sep, cert_path = spec.partition(':')
    if not consumer_key or not cert_path:
        raise argparse.ArgumentTypeError('expected CONSUMER_KEY:CERT_PATH, got %r' % spec)
    try:
        return consumer_key, Path(cert_path).read_bytes()
    except OSError as exc:
        raise argparse.ArgumentTypeError('cannot read the certificate %s: %s' % (cert_path, exc.strerror))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError('expected a number of seconds >= 0, got %r' % text)
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m fake_org', description='Run a fake Salesforce org over HTTPS on 127.0.0.1.')
    parser.add_argument('--workdir', required=True, type=Path, help='directory for the test CA (ca_path) and the admin key')
    parser.add_argument('--port', type=int, default=0, help='port to listen on (default: any free port)')
    parser.add_argument('--user', action='append', type=_user, default=[], metavar='USERNAME[:PERMSET,...]',
                        help='a user and its permission sets (repeatable; default: %s)' % DEFAULT_USER)
    parser.add_argument('--app', action='append', type=_app, default=[], metavar='CONSUMER_KEY:CERT_PATH',
                        help='an app with this certificate, approved for every --user (repeatable)')
    parser.add_argument('--admin', metavar='USERNAME', help='an admin user (may deploy) with its own key and app %s' % ADMIN_CONSUMER_KEY)
    parser.add_argument('--propagation-delay', type=_seconds, default=0.0,
                        help='seconds before a deployed OAuth change reaches the token endpoint (default: 0)')
    parser.add_argument('--sandbox', action='store_true', help='the org is a sandbox (default: production)')
    parser.add_argument('--no-oauth-secrets-via-metadata', dest='oauth_secrets', action='store_false',
                        help='turn off the org setting that deploying External Client App consumer keys and certificates needs')
    parser.add_argument('--latency', type=_seconds, default=0.0, help='seconds added to every request')
    parser.add_argument('--audience', help='accepted aud claim (default: %s, or %s with --sandbox)' % (LOGIN_AUDIENCE, SANDBOX_AUDIENCE))
    parser.add_argument('--accounts', type=int, default=2500, help='Account records to seed (default: %(default)s)')
    parser.add_argument('--ready-file', type=Path, help='write the ready JSON line here too')
    parser.add_argument('--verbose', action='store_true', help='log every request to stderr')
    return parser.parse_args(argv)


def add_admin(org: FakeOrg, username: str, workdir: Path) -> dict:
    """Register `username` as an admin with a new key and the admin app; return the ready JSON's "admin" object."""
    key_pem, cert_pem = generate_key_and_certificate('sfjwt-fake-org-admin')
    key_path = workdir / 'admin.key'
    write_private_file(key_path, key_pem)
    (workdir / 'admin.crt').write_bytes(cert_pem)
    org.add_user(username, admin=True)
    org.add_app(ADMIN_CONSUMER_KEY, cert_pem, admin_approved=True, approved_users=[username])
    return {'username': username, 'consumer_key': ADMIN_CONSUMER_KEY, 'private_key_path': str(key_path.resolve())}


def main(argv=None) -> int:
    args = parse_args(argv)
    audience = args.audience or (SANDBOX_AUDIENCE if args.sandbox else LOGIN_AUDIENCE)
    org = FakeOrg(args.workdir, account_count=args.accounts, accepted_audience=audience, port=args.port, verbose=args.verbose,
                  propagation_delay=args.propagation_delay, is_sandbox=args.sandbox,
                  allow_oauth_secrets_via_metadata=args.oauth_secrets)
    users = args.user or [_user(DEFAULT_USER)]
    for username, permission_sets in users:
        org.add_user(username, permission_sets=permission_sets)
    for consumer_key, certificate in args.app:
        org.add_app(consumer_key, certificate, approved_users=[username for username, _sets in users])
    admin = add_admin(org, args.admin, args.workdir) if args.admin else None
    org.set_latency(args.latency)

    stop = stop_on_signals()
    org.start()
    ready = {'url': org.url, 'ca_path': org.ca_path}
    if admin is not None:
        ready['admin'] = admin
    try:
        announce_until_stopped(ready, args.ready_file, stop)
    finally:
        org.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
