# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fake org's own tests: plain HTTP clients against a started FakeOrg, no Ansible and no installed collection.

Run: .venv/2.19/bin/python -m pytest tests/fake_org/tests -n 2 -q -p no:cacheprovider (scripts/test.sh integration does).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The directory that holds the fake_org package, so that `import fake_org` works however pytest is started.
TESTS_DIR = Path(__file__).resolve().parents[2]

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

# fake_org_server (one per test session and xdist worker), fake_org (reset per test), fake_org_app, fake_org_admin.
from fake_org.pytest_plugin import fake_fleet, fake_org, fake_org_admin, fake_org_app, fake_org_server  # noqa: E402,F401 pylint: disable=unused-import
