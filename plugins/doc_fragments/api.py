# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment(object):

    # Options of the modules that call the org's REST API (rest, metadata_deploy, record, record_info).
    DOCUMENTATION = r'''
options:
  api_version:
    description:
      - The REST API version, as V(NN.N) (for example V(62.0)), or V(latest) to use the newest version the org offers,
        found once with C(GET /services/data/) and cached with the session.
    type: str
    default: latest
  access_token:
    description:
      - An access token to use as it is, with O(instance_url), instead of the auth options (for example the session of
        an existing login). It is not renewed when Salesforce rejects it.
    type: str
  instance_url:
    description:
      - The instance URL that goes with O(access_token) (the C(instance_url) returned with the token).
    type: str
'''
