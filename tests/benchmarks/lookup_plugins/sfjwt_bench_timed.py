# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark-only lookup: runs another lookup and returns how long it took, not its value."""

from __future__ import annotations

DOCUMENTATION = '''
name: sfjwt_bench_timed
short_description: Time another lookup for the benchmarks
description:
  - C(lookup('sfjwt_bench_timed', 'ansible.builtin.env', 'HOME')) runs C(lookup('ansible.builtin.env', 'HOME'))
    and returns the seconds its C(run) took. The value itself (possibly a secret) is discarded.
  - Keywords are passed on to the timed lookup.
options:
  _terms:
    description: The name of the lookup to time, then its terms.
    required: true
'''

import time

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        if not terms:
            raise AnsibleLookupError('sfjwt_bench_timed needs the name of the lookup to time')
        name, inner_terms = terms[0], list(terms[1:])
        lookup = lookup_loader.get(name, loader=self._loader, templar=self._templar)
        if lookup is None:
            raise AnsibleLookupError('no lookup named %s' % name)
        start = time.perf_counter()
        lookup.run(inner_terms, variables=variables, **kwargs)
        return [time.perf_counter() - start]
