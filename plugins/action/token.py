# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs the token module and hides its result from the output: it holds the access token.
Like the other modules' action plugins, it adds the sfjwt_<option> variables for the options the task does not set
(plugins/plugin_utils/_action.py).

Setting ``_ansible_no_log`` on the result makes ansible-core (2.16 and 2.19 alike) treat it like a task with
``no_log: true``: callbacks get a censored copy, while a registered variable keeps the values. A failure is
left visible (its message helps the user and holds no secret) unless it carries a token anyway.
Warnings (retries) are shown by this plugin, since ansible-core 2.16 drops them with a hidden result.
Async is refused (_supports_async): an async result would reach the output without passing through here.
With propagation_timeout, the module runs again while Salesforce refuses the token as it does until a deployed app's
settings apply; a line per try says so while the task runs (a module process cannot print while it runs).
"""

from __future__ import annotations

import time

from ansible.utils.display import Display

from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._text import printable
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._action import SalesforceAction

display = Display()


class ActionModule(SalesforceAction):

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)

        # Hidden whenever it may hold a session; a result without one (a refusal, check mode without a cached token,
        # state=absent) stays visible: its message helps.
        if 'access_token' in result or 'instance_url' in result:
            result['_ansible_no_log'] = True
            self._show_warnings(result)
        return result

    @staticmethod
    def _wait_settings(module_args):
        """(timeout, interval) in seconds; values the module refuses give (0, 1): the first run reports them."""
        try:
            timeout = int(module_args.get('propagation_timeout') or 0)
            interval = int(module_args.get('propagation_interval') or 10)
        except (TypeError, ValueError):
            return 0, 1
        return timeout, interval

    def _run_module(self, module_args, task_vars, wrap_async):
        """Runs the module, and again while Salesforce has not applied a deployed app's settings (propagation_timeout)."""
        timeout, interval = self._wait_settings(module_args)
        started = time.monotonic()
        tries = 1
        while True:
            result = super()._run_module(module_args, task_vars, wrap_async)
            waited = int(time.monotonic() - started)
            if timeout <= 0:
                return result
            result['waited'] = waited
            if not (result.get('failed') and result.get('propagation_pending')):
                return result
            if waited + interval > timeout:
                result['msg'] = ('%s Waited %d s (%d tries) for Salesforce to apply the app\'s settings, up to propagation_timeout '
                                 '(%d s). Salesforce can take up to 10 minutes after a deploy; if it has been longer, the '
                                 'deployed app does not match these settings.' % (result.get('msg', ''), waited, tries, timeout))
                return result
            display.display('Waiting for Salesforce to apply the app\'s settings: %s after %d s of at most %d s; trying '
                            'again in %d s.' % (_refusal(result), waited, timeout, interval))
            time.sleep(interval)
            tries += 1

    @staticmethod
    def _show_warnings(result):
        """Show the module's warnings (retries; never secrets) now: ansible-core 2.16 drops them with a hidden result."""
        warnings = result.get('warnings')
        if not isinstance(warnings, list):
            return
        remaining = []
        for warning in warnings:
            if isinstance(warning, str):
                display.warning(warning)
            else:  # ansible-core 2.19 structured warnings survive the censoring by themselves
                remaining.append(warning)
        if remaining:
            result['warnings'] = remaining
        else:
            del result['warnings']


def _refusal(result):
    """'invalid_client_id (client identifier invalid)': Salesforce's words, which hold no secret, made printable (the
    line goes to the terminal as the task runs)."""
    error = result.get('salesforce_error') or 'refused'
    description = result.get('salesforce_error_description')
    return printable('%s (%s)' % (error, description) if description else error)
