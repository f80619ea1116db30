# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs the token module and hides its result from the output: it holds the access token.

Setting ``_ansible_no_log`` on the result makes ansible-core (2.16 and 2.19 alike) treat it like a task with
``no_log: true``: callbacks get a censored copy, while a registered variable keeps the values. A failure is
left visible (its message helps the user and holds no secret) unless it carries a token anyway.
Warnings (retries) are shown by this plugin, since ansible-core 2.16 drops them with a hidden result.
Async is refused (ActionBase's default): an async result would reach the output without passing through here.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

display = Display()


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # not used since ansible-core 2.10

        result = merge_hash(result, self._execute_module(task_vars=task_vars))
        self._remove_tmp_path(self._connection._shell.tmpdir)

        if not result.get('failed') or 'access_token' in result:
            result['_ansible_no_log'] = True
            self._show_warnings(result)
        return result

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
