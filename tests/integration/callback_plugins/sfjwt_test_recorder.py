# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test-only callback: records every task result, as the user would see it, as JSON lines."""

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

    def _record(self, status, result):
        path = os.environ.get('SFJWT_TEST_RECORD')
        if not path:
            return
        entry = {
            'status': status,
            'host': result._host.get_name(),
            'task': result._task.get_name(),
            'result': result._result,
        }
        with open(path, 'a') as handle:
            handle.write(json.dumps(entry, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._record('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record('failed', result)

    def v2_runner_on_skipped(self, result):
        self._record('skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._record('unreachable', result)
