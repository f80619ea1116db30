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

from ansible_collections.sfjwt.salesforce.plugins.module_utils.doctor._doctor_report import source_words
from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._action import SalesforceAction

display = Display()

# The variables of the collection's playbooks (playbooks/vars/provisioned.yml) holding what they found in the directory
# the provision playbook wrote, per option they pass on to the task: such an option's source is that directory.
PROVISIONED_DIRECTORY_VARIABLE = '__provisioned_dir'
PROVISIONED_VARIABLES = {'consumer_key': '__provisioned_consumer_key', 'private_key_path': '__provisioned_key',
                         'certificate_path': '__provisioned_certificate'}


class ActionModule(SalesforceAction):

    # An async result would reach the output without its report.
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        sources = self._sources
        result['sources'] = sources
        # no_log: the report (users, consumer key, org ids, Salesforce's words) stays in the registered result only.
        if isinstance(result.get('report'), list) and not self._task.no_log:
            display.display('Where the settings come from: %s.'
                            % '; '.join('%s from %s' % (name, source_words(name, source))
                                        for name, source in sorted(sources.items())))
            for line in result['report']:
                display.display(str(line))
        return result

    def module_args(self, task_vars):
        """The module's arguments, with where each setting came from (setting_sources), for the report's words."""
        args = super().module_args(task_vars)
        sources = self.option_sources(task_vars, found_in=self.provisioned_options(task_vars))
        self._sources = {name: source for name, source in sources.items() if source != 'not set'}
        return dict(args, setting_sources=self._sources)

    def provisioned_options(self, task_vars):
        """{option: directory} for the task's options that hold what the playbook found in the provision directory."""
        if PROVISIONED_DIRECTORY_VARIABLE not in task_vars:
            return {}
        found = {}
        for name, variable in PROVISIONED_VARIABLES.items():
            if name in self._task.args and variable in task_vars:
                value = self._templar.template(task_vars[variable])
                if value and value == self._task.args[name]:
                    found[name] = self._templar.template(task_vars[PROVISIONED_DIRECTORY_VARIABLE])
        return found
