#!/usr/bin/env bash
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The benchmark's one command (`make benchmark`): prepare the pinned .venv/bench, then print the table.
# Usage: tests/benchmarks/run.sh [--repeat N] [--only 1,3] [--workdir DIR]   (see docs/performance.md)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$("$root/scripts/venv.sh" bench)
exec "$venv/bin/python" "$root/tests/benchmarks/run.py" "$@"
