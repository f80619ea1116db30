# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test-only callback: records every task result, as the user would see it, as JSON lines.

ansible-core 2.21 leaves the ``failed`` key out of the results it gives callbacks (a callback is told by the method
called); the recorder puts it back, on the task and on each loop item, so that tests read one shape on every core."""

from __future__ import annotations

DOCUMENTATION = '''
name: sfjwt_test_recorder
type: aggregate
short_description: Record task results for the integration tests
description:
  - Appends one JSON object per task result to the file named by E(SFJWT_TEST_RECORD).
requirements:
  - enabled with E(ANSIBLE_CALLBACKS_ENABLED)
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'sfjwt_test_recorder'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._failed_items = {}   # (host, task) -> [whether each loop item failed]

    def _key(self, result):
        return (result._host.get_name(), result._task._uuid)

    def _record(self, status, result):
        path = os.environ.get('SFJWT_TEST_RECORD')
        if not path:
            return
        recorded = dict(result._result)
        if status == 'failed':
            recorded.setdefault('failed', True)
        failed_items = self._failed_items.pop(self._key(result), None)
        items = recorded.get('results')
        if failed_items is not None and isinstance(items, list) and len(items) == len(failed_items):
            recorded['results'] = [dict(item, failed=True) if failed and isinstance(item, dict) and 'failed' not in item else item
                                   for item, failed in zip(items, failed_items)]
        entry = {
            'status': status,
            'host': result._host.get_name(),
            'task': result._task.get_name(),
            'result': recorded,
        }
        with open(path, 'a') as handle:
            handle.write(json.dumps(entry, default=str) + '\n')

    def _item(self, result, failed):
        self._failed_items.setdefault(self._key(result), []).append(failed)

    def v2_runner_item_on_ok(self, result):
        self._item(result, False)

    def v2_runner_item_on_failed(self, result):
        self._item(result, True)

    def v2_runner_item_on_skipped(self, result):
        self._item(result, False)

    def v2_runner_on_ok(self, result):
        self._record('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record('failed', result)

    def v2_runner_on_skipped(self, result):
        self._record('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._record('unreachable', result)
