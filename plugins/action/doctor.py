# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs the doctor module (with the sfjwt_<option> variables, plugins/plugin_utils/_action.py), then prints where each
setting came from and the module's report as plain lines: only the controller knows which settings were task options,
variables or environment variables. The lines hold no secret (the module's report never does; secrets are named, not
shown)."""

from __future__ import annotations

from ansible.utils.display import Display

from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._action import SalesforceAction

display = Display()


class ActionModule(SalesforceAction):

    # An async result would reach the output without its report.
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        sources = {name: source for name, source in self.option_sources(task_vars or {}).items() if source != 'not set'}
        result['sources'] = sources
        # no_log: the report (users, consumer key, org ids, Salesforce's words) stays in the registered result only.
        if isinstance(result.get('report'), list) and not self._task.no_log:
            display.display('Where the settings come from: %s.'
                            % '; '.join('%s from %s' % (name, source) for name, source in sorted(sources.items())))
            for line in result['report']:
                display.display(str(line))
        return result
