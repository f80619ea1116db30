# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark-only callback: how long each task and the whole play took, inside ansible-playbook."""

from __future__ import annotations

DOCUMENTATION = '''
name: sfjwt_bench_timer
type: aggregate
short_description: Time tasks for the benchmarks
description:
  - At the end of the playbook, writes a JSON object to the file named by E(SFJWT_BENCH_TIMINGS)
    with C(tasks), a list of C(name) and C(seconds) (from the task start to its last host result),
    and C(play_seconds) (from the first task start to the last result).
requirements:
  - enabled with E(ANSIBLE_CALLBACKS_ENABLED)
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'sfjwt_bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._tasks.append({'name': task.get_name(), 'start': time.perf_counter(), 'end': None})

    def _result(self, result, *args, **kwargs):
        if self._tasks:
            self._tasks[-1]['end'] = time.perf_counter()

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _result

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('SFJWT_BENCH_TIMINGS')
        if not path:
            return
        finished = [task for task in self._tasks if task['end'] is not None]
        timings = {
            'tasks': [{'name': task['name'], 'seconds': task['end'] - task['start']} for task in finished],
            'play_seconds': finished[-1]['end'] - self._tasks[0]['start'] if finished else None,
        }
        with open(path, 'w') as handle:
            json.dump(timings, handle)
