# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs the sandbox module with the sfjwt_<option> variables for the options the task does not set
(plugins/plugin_utils/_action.py)."""

from __future__ import annotations

from ansible_collections.sfjwt.salesforce.plugins.plugin_utils._action import SalesforceAction


class ActionModule(SalesforceAction):
    pass
