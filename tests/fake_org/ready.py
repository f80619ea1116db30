# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The command lines' common end (python -m fake_org, python -m fake_org.fleet): say where the org is, run until a signal."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the command line's way to stop."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    return stop


def announce_until_stopped(ready: dict, ready_file, stop: threading.Event) -> None:
    """Print ready as one JSON line and write it, atomically, to ready_file (when given); wait for stop; then remove
    ready_file, so that a reader never takes a stopped org for a running one."""
    line = json.dumps(dict(ready, pid=os.getpid()))
    try:
        if ready_file:
            temporary = ready_file.with_name('.%s.tmp' % ready_file.name)
            temporary.write_text(line + '\n')
            os.replace(temporary, ready_file)
        sys.stdout.write(line + '\n')
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        if ready_file:
            try:
                ready_file.unlink()
            except FileNotFoundError:
                pass
