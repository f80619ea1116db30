# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: app_project
short_description: What an app's metadata in a Salesforce DX project holds (consumer key, contact, permission sets)
version_added: 0.2.0
description:
  - Reads the External Client App (or Connected App) metadata that M(sfjwt.salesforce.app_metadata) wrote into a
    project on the controller, and returns the app's consumer key, contact e-mail and pre-authorized permission sets.
  - Files are read as M(sfjwt.salesforce.app_metadata) reads them - a symbolic link, a FIFO or a file of more than
    10 MB in the project is refused, never followed or waited on.
  - The provision role uses it to keep what a project holds on a rerun or a key rotation; the collection's playbooks use
    it to find the consumer key of a provisioned directory.
author:
  - sfjwt.salesforce contributors (@sfjwt)
options:
  project_dir:
    description:
      - The project's root directory (the one with C(sfdx-project.json)). A directory that does not exist holds no app.
    type: path
    required: true
  name:
    description:
      - The app's API name.
      - Without it, the project's only app; with none or several, RV(_raw[].name) is V(null) and nothing is read.
    type: str
  package_directory:
    description:
      - The package directory that holds the app's metadata, inside O(project_dir).
    type: str
    default: force-app
seealso:
  - module: sfjwt.salesforce.app_metadata
'''

EXAMPLES = r'''
- name: Keep the contact of the app already in the project unless one is given
  ansible.builtin.set_fact:
    contact_email: >-
      {{ given_contact_email
         or lookup('sfjwt.salesforce.app_project', project_dir='sfjwt/project', name='AnsibleIntegration').contact_email }}

- name: The consumer key of the only app in a project
  ansible.builtin.debug:
    msg: "{{ lookup('sfjwt.salesforce.app_project', project_dir='sfjwt/project').consumer_key }}"
'''

RETURN = r'''
_raw:
  description: One element, a dictionary.
  type: list
  elements: dict
  contains:
    name:
      description: The app's API name; V(null) when O(name) is not given and the project has no app or several.
      type: str
    consumer_key:
      description: The consumer key in the app's OAuth settings; V(null) when the project has none.
      type: str
    contact_email:
      description: The contact e-mail of the External Client App; V(null) when the project has none.
      type: str
    permission_sets:
      description: The permission sets whose users are pre-authorized (the app's OAuth policies); empty when none.
      type: list
      elements: str
'''

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.sfjwt.salesforce.plugins.module_utils.project._app_project import read_app
from ansible_collections.sfjwt.salesforce.plugins.module_utils.core._errors import SalesforceError


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError('The sfjwt.salesforce.app_project lookup takes no positional terms; give project_dir '
                                     'as a keyword, for example lookup("sfjwt.salesforce.app_project", project_dir="sfjwt/project").')
        self.set_options(var_options=variables, direct=kwargs)
        try:
            return [read_app(self.get_option('project_dir'), name=self.get_option('name'),
                             package_directory=self.get_option('package_directory'))]
        except SalesforceError as exc:
            raise AnsibleLookupError(exc.message) from None
