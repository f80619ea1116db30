# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a fake org until SIGTERM or SIGINT:

    PYTHONPATH=tests python -m fake_org --workdir DIR [--port N] [--metadata-dir DIR]
        [--user USERNAME[:PERMSET,...]]... [--app CONSUMER_KEY:CERT_PATH]... [--latency SECONDS]
        [--audience URL] [--ready-file FILE] [--verbose]

Once listening it prints one JSON line {"url", "ca_path", "pid"} to stdout and, atomically, to
--ready-file (removed again on exit). Without --user it knows integration@example.com holding
permission set SFJWT_Integration. An --app is admin-approved for every --user; in the demo, apps come
from --metadata-dir instead, read again on every token request.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from .server import LOGIN_AUDIENCE, FakeOrg

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


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m fake_org', description='Run a fake Salesforce org over HTTPS on 127.0.0.1.')
    parser.add_argument('--workdir', required=True, type=Path, help='directory for the test CA (ca_path)')
    parser.add_argument('--port', type=int, default=0, help='port to listen on (default: any free port)')
    parser.add_argument('--metadata-dir', type=Path, help='source-format project whose apps count as deployed')
    parser.add_argument('--user', action='append', type=_user, default=[], metavar='USERNAME[:PERMSET,...]',
                        help='a user and its permission sets (repeatable; default: %s)' % DEFAULT_USER)
    parser.add_argument('--app', action='append', type=_app, default=[], metavar='CONSUMER_KEY:CERT_PATH',
                        help='an app with this certificate, approved for every --user (repeatable)')
    parser.add_argument('--latency', type=float, default=0.0, help='seconds added to every request')
    parser.add_argument('--audience', default=LOGIN_AUDIENCE, help='accepted aud claim (default: %(default)s)')
    parser.add_argument('--accounts', type=int, default=2500, help='Account records to seed (default: %(default)s)')
    parser.add_argument('--ready-file', type=Path, help='write the ready JSON line here too')
    parser.add_argument('--verbose', action='store_true', help='log every request to stderr')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    org = FakeOrg(args.workdir, metadata_dir=args.metadata_dir, account_count=args.accounts, accepted_audience=args.audience,
                  port=args.port, verbose=args.verbose)
    users = args.user or [_user(DEFAULT_USER)]
    for username, permission_sets in users:
        org.add_user(username, permission_sets=permission_sets)
    for consumer_key, certificate in args.app:
        org.add_app(consumer_key, certificate, approved_users=[username for username, _sets in users])
    org.set_latency(args.latency)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())

    org.start()
    ready = json.dumps({'url': org.url, 'ca_path': org.ca_path, 'pid': os.getpid()})
    try:
        if args.ready_file:
            temporary = args.ready_file.with_name('.%s.tmp' % args.ready_file.name)
            temporary.write_text(ready + '\n')
            os.replace(temporary, args.ready_file)
        sys.stdout.write(ready + '\n')
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        org.stop()
        if args.ready_file:
            try:
                args.ready_file.unlink()
            except FileNotFoundError:
                pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
