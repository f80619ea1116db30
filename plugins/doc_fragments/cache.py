# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Options for modules. Every option falls back to its sfjwt_* variable (added by the modules' action plugins),
    # then to its SFJWT_* environment variable.
    DOCUMENTATION = r'''
options:
  cache:
    description:
      - Reuse access tokens through an on-disk cache shared by all tasks, hosts and runs of the same user on this machine.
      - Salesforce allows about 3,600 logins per user and hour (C(LOGIN_RATE_EXCEEDED)), and Ansible runs each task of each
        host in its own process, so keep this on. Processes that need a token for the same user, app, key and token host
        wait for each other, and only the first one requests a token.
      - Tokens are stored one file per identity, named by a SHA-256 hash of the token host, audience, consumer key,
        username and a SHA-256 digest of the private key (with its passphrase), as mode 0600 JSON files in a mode 0700
        directory. A cached token is returned without parsing the key or importing requests, cryptography or PyJWT
        (which are needed only to request a new one); a changed key file or passphrase is a different identity.
      - A login refused for rate limiting (C(LOGIN_RATE_EXCEEDED), HTTP 429) is remembered for the shorter of
        O(cache_ttl) and 300 seconds; meanwhile tasks for that user and app fail with the same message without
        logging in again. Delete the cache entry named in the message, or set O(cache=false), to try sooner.
      - A login refused for a reason that trying again cannot change (an unknown consumer key, C(invalid_grant)) is given,
        for 2 seconds and no longer, to the tasks for that user and app that ask meanwhile (for example the other hosts of
        the same task), without logging them in.
      - A task that requests a token also removes, a few at a time, temporary files left by killed runs and entries unused
        for more than 12 hours (for example after a key change). Anything in the directory where the cache keeps an entry
        or lock file that is not a regular file of the user (a link, a directory, a named pipe) fails the task with the
        path to remove.
      - If not set, the Ansible variable C(sfjwt_cache) is used, then the environment variable E(SFJWT_CACHE).
    type: bool
    default: true
  cache_ttl:
    description:
      - Seconds a cached token is reused. Salesforce sessions last at least 15 minutes after their last use
        (the org's or app's session timeout), so the default stays below that. From V(1) to V(43200) (12 hours).
      - A token rejected before then (for example after the sessions were revoked) is dropped and replaced
        by M(sfjwt.salesforce.rest).
      - If not set, the Ansible variable C(sfjwt_cache_ttl) is used, then the environment variable E(SFJWT_CACHE_TTL).
    type: int
    default: 600
  cache_dir:
    description:
      - Directory of the token cache. Defaults to C($XDG_CACHE_HOME/sfjwt.salesforce), or C(~/.cache/sfjwt.salesforce)
        when E(XDG_CACHE_HOME) is not set.
      - Created with mode 0700 if missing. An existing directory must belong to the user running the task and must not be
        accessible to group or others; otherwise the task fails and says how to fix it (it is not changed silently).
      - If not set, the Ansible variable C(sfjwt_cache_dir) is used, then the environment variable E(SFJWT_CACHE_DIR).
    type: path
'''

    # Adds the environment variable and Ansible variable sources for plugins (lookups).
    PLUGINS = r'''
options:
  cache:
    env:
      - name: SFJWT_CACHE
    vars:
      - name: sfjwt_cache
  cache_ttl:
    env:
      - name: SFJWT_CACHE_TTL
    vars:
      - name: sfjwt_cache_ttl
  cache_dir:
    env:
      - name: SFJWT_CACHE_DIR
    vars:
      - name: sfjwt_cache_dir
'''
