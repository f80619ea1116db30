# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Templating as the plugin_utils tests need it, on every supported ansible-core: a Templar over task variables, the
omit placeholder, and strings marked as templates the way playbook variables are."""

from __future__ import annotations

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:  # ansible-core 2.19+: only trusted strings are templates
    from ansible.template import trust_as_template
except ImportError:  # ansible-core 2.16 - 2.18 template every string
    def trust_as_template(value):
        return value

__all__ = ['OMIT', 'templar_for', 'trust_as_template']

OMIT = '__omit_place_holder__0123456789abcdef'


def templar_for(task_vars):
    return Templar(loader=DataLoader(), variables=task_vars)
