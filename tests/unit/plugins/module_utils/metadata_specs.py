# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The app the metadata tests render and write (test_metadata.py, test_metadata_files.py), and reading the XML back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ansible_collections.sfjwt.salesforce.plugins.module_utils.project import _metadata as md

NS = '{http://soap.sforce.com/2006/04/metadata}'
CONSUMER_KEY = '3MVG9AnsibleIntegration0001'


def make_spec(cert, **overrides):
    values = dict(name='AnsibleIntegration', label='Ansible <Integration> & "Co"', contact_email='admin@example.com',
                  consumer_key=CONSUMER_KEY, certificate=cert['pem'],
                  callback_url='https://login.salesforce.com/services/oauth2/success?a=1&b=2',
                  permission_sets=['Ansible_Integration', 'Second_Set'])
    values.update(overrides)
    return md.AppSpec(**values)


def parse(document):
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(document)


def fields(root):
    """{local name: text} of the root's children (repeated names become lists)."""
    found = {}
    for child in root:
        name = child.tag[len(NS):]
        value = child.text if len(child) == 0 else child
        if name in found:
            found[name] = (found[name] if isinstance(found[name], list) else [found[name]]) + [value]
        else:
            found[name] = value
    return found


def canonical_pem(cert):
    """What the metadata holds: cryptography's own PEM without its final line break."""
    return cert['pem'].rstrip('\n')
