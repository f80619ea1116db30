# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The token action plugin's "Waiting for Salesforce" lines (propagation_timeout): printed while the task runs, so
Salesforce's words in them are escaped."""

from __future__ import annotations

from ansible_collections.sfjwt.salesforce.plugins.action import token as token_action
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._action import SalesforceAction

HOSTILE = 'bad\x1b[2J\x1b]0;owned\x07\r\nok: [localhost]\x9b31m\u202eevil\u200b'
SHOWN = 'bad\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0aok: [localhost]\\x9b31m\\u202eevil\\u200b'


def test_the_waiting_lines_show_salesforce_words_escaped(monkeypatch):
    refusals = [dict(failed=True, propagation_pending=True, msg='refused', salesforce_error='invalid_client_id\x1b[2J',
                     salesforce_error_description=HOSTILE)] * 2 + [dict(changed=False)]
    monkeypatch.setattr(SalesforceAction, '_run_module', lambda self, module_args, task_vars, wrap_async: dict(refusals.pop(0)))
    lines = []
    monkeypatch.setattr(token_action.display, 'display', lambda text, *args, **kwargs: lines.append(text))
    monkeypatch.setattr(token_action.time, 'sleep', lambda seconds: None)
    action = object.__new__(token_action.ActionModule)
    result = action._run_module({'propagation_timeout': 600, 'propagation_interval': 5}, {}, False)
    assert result['changed'] is False
    assert len(lines) == 2
    for line in lines:
        assert line.startswith('Waiting for Salesforce to apply the app\'s settings: invalid_client_id\\x1b[2J (%s) after ' % SHOWN)
        assert not any(char in line for char in '\x1b\x07\r\n\x9b\u202e\u200b')
