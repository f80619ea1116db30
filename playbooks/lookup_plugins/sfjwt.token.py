# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The short name lookup('sfjwt.token') for lookup('sfjwt.salesforce.token').

ansible-core resolves a two-part lookup name only in lookup_plugins directories, by file name. This file
is found next to the collection's own playbooks; for other playbooks, add to ansible.cfg:
    lookup_plugins = <installed collection>/playbooks/lookup_plugins
It only re-exports the collection's lookup (documentation included), so both names behave the same.
"""

from __future__ import annotations

from ansible_collections.sfjwt.salesforce.plugins.lookup.token import DOCUMENTATION, EXAMPLES, RETURN, LookupModule

__all__ = ['DOCUMENTATION', 'EXAMPLES', 'RETURN', 'LookupModule']
