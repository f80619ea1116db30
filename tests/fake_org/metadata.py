# -*- coding: utf-8 -*-
# Copyright (c) sfjwt.salesforce contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Apps "deployed" from a source-format project directory: the offline stand-in for `sf project deploy start`.

Read, recursively under the directory:
- External Client Apps: `*.ecaGlblOauth-meta.xml` (consumerKey, certificate) joined by their
  `externalClientApplication` name with `*.ecaOauthPlcy-meta.xml` (permittedUsersPolicyType
  AdminApprovedPreAuthorized, commaSeparatedPermissionSet);
- legacy Connected Apps: `*.connectedApp-meta.xml` (oauthConfig consumerKey / certificate /
  isAdminApproved, permissionSetName elements).
Every file must use the Metadata API namespace, as a real deploy requires; files that do not, or that
cannot be parsed, are skipped with a warning. An app whose certificate cannot be read is kept
without a key: its assertions fail with "invalid assertion", as with no certificate uploaded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .identities import App, load_public_key, normalize_certificate

NAMESPACE = 'http://soap.sforce.com/2006/04/metadata'

GLOBAL_OAUTH_SUFFIX = '.ecaGlblOauth-meta.xml'
OAUTH_POLICY_SUFFIX = '.ecaOauthPlcy-meta.xml'
CONNECTED_APP_SUFFIX = '.connectedApp-meta.xml'


def load_apps(root: Path) -> tuple:
    """Return (apps, warnings) for every JWT-enabled app defined under `root`."""
    warnings = []
    apps = []
    policies = {}
    for path in sorted(root.rglob('*' + OAUTH_POLICY_SUFFIX)):
        element = _read(path, 'ExtlClntAppOauthConfigurablePolicies', warnings)
        if element is not None:
            policies[_text(element, 'externalClientApplication') or _stem(path, OAUTH_POLICY_SUFFIX)] = element
    for path in sorted(root.rglob('*' + GLOBAL_OAUTH_SUFFIX)):
        element = _read(path, 'ExtlClntAppGlobalOauthSettings', warnings)
        if element is None:
            continue
        policy = policies.get(_text(element, 'externalClientApplication') or _stem(path, GLOBAL_OAUTH_SUFFIX))
        admin_approved = policy is not None and _text(policy, 'permittedUsersPolicyType') == 'AdminApprovedPreAuthorized'
        permission_sets = [] if policy is None else [name.strip() for name in (_text(policy, 'commaSeparatedPermissionSet') or '').split(',')]
        app = _app(path, _text(element, 'consumerKey'), _text(element, 'certificate'), admin_approved, permission_sets, warnings)
        if app is not None:
            apps.append(app)
    for path in sorted(root.rglob('*' + CONNECTED_APP_SUFFIX)):
        element = _read(path, 'ConnectedApp', warnings)
        if element is None:
            continue
        oauth = element.find(_tag('oauthConfig'))
        if oauth is None:
            warnings.append('%s: no oauthConfig, not an OAuth app' % path)
            continue
        permission_sets = [(e.text or '').strip() for e in element.findall(_tag('permissionSetName'))]
        app = _app(path, _text(oauth, 'consumerKey'), _text(oauth, 'certificate'), _text(oauth, 'isAdminApproved') == 'true',
                   permission_sets, warnings)
        if app is not None:
            apps.append(app)
    return apps, warnings


def _app(path: Path, consumer_key, certificate, admin_approved: bool, permission_sets: list, warnings: list) -> App | None:
    if not consumer_key:
        warnings.append('%s: no consumerKey' % path)
        return None
    pem = public_key = None
    if not certificate:
        warnings.append('%s: no certificate, the JWT Bearer flow is not enabled' % path)
    else:
        try:
            pem = normalize_certificate(certificate)
            public_key = load_public_key(pem)
        except ValueError as exc:
            warnings.append('%s: %s' % (path, exc))
    return App(consumer_key=consumer_key, certificate_pem=pem, public_key=public_key, admin_approved=admin_approved,
               permission_sets=frozenset(name for name in permission_sets if name), source=str(path))


def _read(path: Path, root_name: str, warnings: list):
    try:
        root = ET.parse(str(path)).getroot()
    except (ET.ParseError, OSError) as exc:
        warnings.append('%s: unreadable: %s' % (path, exc))
        return None
    if root.tag != _tag(root_name):
        warnings.append('%s: root element is %s, expected %s in namespace %s' % (path, root.tag, root_name, NAMESPACE))
        return None
    return root


def _tag(name: str) -> str:
    return '{%s}%s' % (NAMESPACE, name)


def _text(element, name: str) -> str | None:
    child = element.find(_tag(name))
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _stem(path: Path, suffix: str) -> str:
    return path.name[:-len(suffix)]
